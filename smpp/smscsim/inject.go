package smscsim

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.uber.org/zap"

	"github.com/optgate/optgate/smpp"
)

// MO is a mobile-originated message to inject.
type MO struct {
	// From is the handset's number and To the number it texts, such as
	// "+12015550101" and "+18005550100". A number with a leading '+' or
	// of digits only goes out as international ISDN (TON 1, NPI 1)
	// without the '+'; anything else as alphanumeric (TON 5, NPI 0).
	From string
	To   string
	Text string
	// DataCoding is the data_coding to send. Default: 0, the smallest,
	// which is data_coding 0x00 when the text fits its alphabet and UCS2
	// (0x08) otherwise.
	DataCoding smpp.DataCoding
	// Split is the way a text too long for one deliver_sm travels: a
	// concatenation UDH (the default), sar_* TLVs, or the whole text in
	// message_payload.
	Split smpp.SplitMode
	// SystemID picks the session: one bound as receiver or transceiver
	// with this system_id. Default: any such session.
	SystemID string
	// TLVs are added to every deliver_sm, such as sc_interface_version
	// where SMPP 3.4 does not list it.
	TLVs smpp.TLVs
}

// Inject sends mo as one deliver_sm or, when its text is too long, as one
// per segment, to a bound receiver or transceiver, and returns the
// command_status of the deliver_sm_resp. Segments go to the same session
// one after the other; the first one that is not ESME_ROK stops the rest
// and its status is returned. The error wraps ErrNoReceiver when no
// session can receive, and is set for a text the data_coding cannot hold,
// a transport failure or a response timeout.
func (sim *Simulator) Inject(ctx context.Context, mo MO) (smpp.CommandStatus, error) {
	pdus, err := sim.moPDUs(mo)
	if err != nil {
		return 0, fmt.Errorf("smscsim: inject: %w", err)
	}
	ss := sim.receiver(mo.SystemID, nil)
	if ss == nil {
		return 0, noReceiver(mo.SystemID)
	}
	ctx, stop := sim.bound(ctx)
	defer stop()
	for i, d := range pdus {
		status, err := deliverStatus(ss.Deliver(ctx, d))
		if err != nil {
			return 0, fmt.Errorf("smscsim: inject part %d of %d: %w", i+1, len(pdus), err)
		}
		if status != smpp.StatusOK {
			sim.log.Info("mo rejected by the esme", zap.String("system_id", ss.SystemID()),
				zap.Int("part", i+1), zap.Stringer("command_status", status))
			return status, nil
		}
	}
	sim.log.Debug("mo injected", zap.String("system_id", ss.SystemID()),
		zap.String("from", mo.From), zap.String("to", mo.To), zap.Int("parts", len(pdus)))
	return smpp.StatusOK, nil
}

// deliverStatus separates an ESME's error status from a failure to get
// any response.
func deliverStatus(resp *smpp.DeliverSMResp, err error) (smpp.CommandStatus, error) {
	var se *smpp.StatusError
	if errors.As(err, &se) {
		return se.Status, nil
	}
	if err != nil {
		return 0, err
	}
	return resp.CommandStatus, nil
}

// InjectRaw sends a deliver_sm, data_sm or alert_notification as it is,
// but with a new sequence number, to a session bound as receiver or
// transceiver with systemID (any such session when systemID is empty). It
// returns the ESME's response: an error status comes back with a
// *smpp.StatusError, and alert_notification, which has no response, with
// nil. The PDU is re-encoded, so octets the codec would not write, such
// as a stray NUL after short_message, do not reach the ESME.
func (sim *Simulator) InjectRaw(ctx context.Context, systemID string, pdu smpp.PDU) (smpp.PDU, error) {
	ss := sim.receiver(systemID, nil)
	if ss == nil {
		return nil, noReceiver(systemID)
	}
	ctx, stop := sim.bound(ctx)
	defer stop()
	resp, err := ss.Request(ctx, pdu)
	if err == nil && resp != nil {
		err = smpp.CheckStatus(resp)
	}
	return resp, err
}

// bound returns a context that also ends when the simulator closes.
func (sim *Simulator) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(sim.ctx, cancel)
	return ctx, func() {
		stop()
		cancel()
	}
}

// moPDUs encodes mo as deliver_sm PDUs.
func (sim *Simulator) moPDUs(mo MO) ([]*smpp.DeliverSM, error) {
	if mo.From == "" || mo.To == "" {
		return nil, errors.New("from and to are required")
	}
	coding := mo.DataCoding
	if coding == smpp.CodingDefault {
		if _, err := smpp.EncodeText(mo.Text, coding, sim.cfg.Text); err != nil {
			coding = smpp.CodingUCS2
		}
	}
	segments, err := smpp.SplitText(mo.Text, coding, smpp.SplitOptions{
		Mode: mo.Split,
		Text: sim.cfg.Text,
		Refs: &sim.refs,
	})
	if err != nil {
		return nil, err
	}

	from, to := moAddress(mo.From), moAddress(mo.To)
	pdus := make([]*smpp.DeliverSM, 0, len(segments))
	for _, seg := range segments {
		d := &smpp.DeliverSM{
			SourceAddrTON:   from.TON,
			SourceAddrNPI:   from.NPI,
			SourceAddr:      from.Addr,
			DestAddrTON:     to.TON,
			DestAddrNPI:     to.NPI,
			DestinationAddr: to.Addr,
			DataCoding:      coding,
		}
		if seg.UDHI {
			d.ESMClass |= smpp.ESMClassUDHI
		}
		switch {
		case mo.Split == smpp.SplitPayload:
			d.TLVs.SetMessagePayload(seg.Data)
		default:
			d.ShortMessage = seg.Data
		}
		if mo.Split == smpp.SplitSAR && seg.Part.Total > 1 {
			d.TLVs.SetSAR(smpp.SAR{RefNum: seg.Part.Ref, TotalSegments: seg.Part.Total,
				SegmentSeqnum: seg.Part.Seq})
		}
		d.TLVs = append(d.TLVs, mo.TLVs...)
		pdus = append(pdus, d)
	}
	return pdus, nil
}

// moAddress converts a number as the MO API takes it into an SMPP
// address.
func moAddress(s string) address {
	if digits, ok := strings.CutPrefix(s, "+"); ok && isDigits(digits) {
		return address{smpp.TONInternational, smpp.NPIISDN, digits}
	}
	if isDigits(s) {
		return address{smpp.TONInternational, smpp.NPIISDN, s}
	}
	return address{smpp.TONAlphanumeric, smpp.NPIUnknown, s}
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// ParseSplitMode reads a split mode name: udh, udh16, sar or payload. The
// empty string is udh.
func ParseSplitMode(name string) (smpp.SplitMode, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "", "udh":
		return smpp.SplitUDH, nil
	case "udh16":
		return smpp.SplitUDH16, nil
	case "sar":
		return smpp.SplitSAR, nil
	case "payload":
		return smpp.SplitPayload, nil
	}
	return 0, fmt.Errorf("invalid split mode %q: want udh, udh16, sar or payload", name)
}
