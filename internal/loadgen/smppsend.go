package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"

	"github.com/optgate/optgate/smpp"
)

// smppSender sends each message as one submit_sm per segment on one of
// its binds. Worker w uses bind w / Window, so each bind has exactly
// Window workers and never more requests in flight than its window.
type smppSender struct {
	cfg      Config
	payloads [kindCount]payload
	clients  []*smpp.Client
	received atomic.Int64
}

// dialSMPP binds cfg.Binds transceiver sessions at once and returns when
// all are bound, or closes them all and returns the first error.
func dialSMPP(ctx context.Context, cfg Config, payloads [kindCount]payload) (*smppSender, error) {
	s := &smppSender{cfg: cfg, payloads: payloads, clients: make([]*smpp.Client, cfg.Binds)}
	bindCtx, cancel := context.WithTimeout(ctx, cfg.ResponseTimeout)
	defer cancel()
	errs := make([]error, cfg.Binds)
	var wg sync.WaitGroup
	for i := range s.clients {
		wg.Go(func() {
			// A rejected bind or a failed dial ends the wait at once: the
			// client would retry, but a load run needs every bind from
			// the start.
			dialCtx, giveUp := context.WithCancelCause(bindCtx)
			defer giveUp(nil)
			failed := func(_ string, _ smpp.SessionState, err error) {
				var se *smpp.StatusError
				var ne *net.OpError
				if errors.As(err, &se) || errors.As(err, &ne) {
					giveUp(err)
				}
			}
			s.clients[i], errs[i] = smpp.Dial(dialCtx, smpp.ClientConfig{
				Addr:            cfg.Addr,
				BindType:        smpp.BindTypeTransceiver,
				SystemID:        cfg.SystemID,
				Password:        cfg.Password,
				WindowSize:      cfg.Window,
				ResponseTimeout: cfg.ResponseTimeout,
				Handler:         s.handle,
				Hooks:           smpp.Hooks{BindStateChanged: failed},
			})
			if cause := context.Cause(dialCtx); errs[i] != nil && cause != dialCtx.Err() {
				errs[i] = cause
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ResponseTimeout)
		defer cancel()
		_ = s.close(closeCtx)
		return nil, fmt.Errorf("bind %d sessions to %s as %s: %w", cfg.Binds, cfg.Addr, cfg.SystemID, err)
	}
	return s, nil
}

// handle accepts every deliver_sm and data_sm and counts the delivery
// receipts among them.
func (s *smppSender) handle(_ context.Context, req smpp.PDU) smpp.CommandStatus {
	if d, ok := req.(*smpp.DeliverSM); ok && smpp.IsDeliveryReceipt(d.ESMClass) {
		s.received.Add(1)
	}
	return smpp.StatusOK
}

func (s *smppSender) receipts() int64 { return s.received.Load() }

func (s *smppSender) send(ctx context.Context, worker int, msg *message) (int, *failure) {
	client := s.clients[worker/s.cfg.Window]
	p := &s.payloads[msg.kind]
	var registered uint8
	if s.cfg.Receipts {
		registered = smpp.RegisteredDeliveryReceiptAlways
	}
	from, to := s.cfg.From.digits(msg.from), s.cfg.To.digits(msg.to)
	for i, seg := range p.segments {
		sm := &smpp.SubmitSM{
			SourceAddrTON:      smpp.TONInternational,
			SourceAddrNPI:      smpp.NPIISDN,
			SourceAddr:         from,
			DestAddrTON:        smpp.TONInternational,
			DestAddrNPI:        smpp.NPIISDN,
			DestinationAddr:    to,
			RegisteredDelivery: registered,
			DataCoding:         p.coding,
			ShortMessage:       withRef(seg, msg.ref),
		}
		if seg.UDHI {
			sm.ESMClass = smpp.ESMClassUDHI
		}
		if _, err := client.Submit(ctx, sm); err != nil {
			return i, s.classify(err)
		}
	}
	return len(p.segments), nil
}

// classify turns a Submit error into a report key: the command_status the
// target sent, or what went wrong on the client's side.
func (s *smppSender) classify(err error) *failure {
	var se *smpp.StatusError
	switch {
	case errors.As(err, &se):
		return &failure{reason: s.cfg.StatusName(se.Status), status: fmt.Sprintf("0x%08x", uint32(se.Status))}
	case errors.Is(err, smpp.ErrResponseTimeout):
		return &failure{reason: "response timeout"}
	case errors.Is(err, smpp.ErrNotBound):
		return &failure{reason: "not bound", detail: err.Error()}
	case errors.Is(err, smpp.ErrClosed), errors.Is(err, smpp.ErrLinkDead):
		return &failure{reason: "session closed", detail: err.Error()}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &failure{reason: "no response before the run ended"}
	}
	return &failure{reason: "client error", detail: err.Error()}
}

// close unbinds every session, letting requests in flight finish first.
func (s *smppSender) close(ctx context.Context) error {
	errs := make([]error, len(s.clients))
	var wg sync.WaitGroup
	for i, c := range s.clients {
		if c != nil {
			wg.Go(func() { errs[i] = c.Close(ctx) })
		}
	}
	wg.Wait()
	return errors.Join(errs...)
}
