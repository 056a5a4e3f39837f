package smscsim

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/optgate/optgate/smpp"
)

// address is one side of a message: type of number, numbering plan and
// digits.
type address struct {
	TON  smpp.TON
	NPI  smpp.NPI
	Addr string
}

// submission is a submit_sm, data_sm or submit_multi on its way through
// the handler.
type submission struct {
	req   smpp.PDU
	sess  *smpp.ServerSession
	msg   Message
	src   address
	dests []address
	body  []byte // the text octets after any UDH, for reassembly
}

// serveSMPP handles the requests smpp.Server passes on: the submits,
// query_sm, cancel_sm and replace_sm.
func (sim *Simulator) serveSMPP(ctx context.Context, sess *smpp.ServerSession, req smpp.PDU) smpp.PDU {
	switch r := req.(type) {
	case *smpp.SubmitSM:
		return sim.handleSubmit(ctx, sim.submitSM(sess, r))
	case *smpp.DataSM:
		return sim.handleSubmit(ctx, sim.dataSM(sess, r))
	case *smpp.SubmitMulti:
		return sim.handleSubmit(ctx, sim.submitMulti(sess, r))
	case *smpp.QuerySM:
		return sim.query(r)
	case *smpp.CancelSM:
		// Accepted messages leave the simulator's hands at once, so there
		// is nothing left to cancel or replace.
		return smpp.NewResponse(req, smpp.StatusCancelFailed)
	case *smpp.ReplaceSM:
		return smpp.NewResponse(req, smpp.StatusReplaceFailed)
	}
	return smpp.NewResponse(req, smpp.StatusInvalidCommandID)
}

func (sim *Simulator) submitSM(sess *smpp.ServerSession, r *smpp.SubmitSM) *submission {
	sub := &submission{
		req:   r,
		sess:  sess,
		src:   address{r.SourceAddrTON, r.SourceAddrNPI, r.SourceAddr},
		dests: []address{{r.DestAddrTON, r.DestAddrNPI, r.DestinationAddr}},
	}
	data, payload := r.ShortMessage, false
	if len(data) == 0 && r.TLVs.Has(smpp.TagMessagePayload) {
		data, _ = r.TLVs.Get(smpp.TagMessagePayload)
		payload = true
	}
	sim.fillMessage(sub, r.ESMClass, r.RegisteredDelivery, r.DataCoding, data, r.TLVs)
	sub.msg.Payload = payload
	return sub
}

func (sim *Simulator) dataSM(sess *smpp.ServerSession, r *smpp.DataSM) *submission {
	sub := &submission{
		req:   r,
		sess:  sess,
		src:   address{r.SourceAddrTON, r.SourceAddrNPI, r.SourceAddr},
		dests: []address{{r.DestAddrTON, r.DestAddrNPI, r.DestinationAddr}},
	}
	data, _ := r.TLVs.Get(smpp.TagMessagePayload)
	sim.fillMessage(sub, r.ESMClass, r.RegisteredDelivery, r.DataCoding, data, r.TLVs)
	sub.msg.Payload = true
	return sub
}

func (sim *Simulator) submitMulti(sess *smpp.ServerSession, r *smpp.SubmitMulti) *submission {
	sub := &submission{
		req:  r,
		sess: sess,
		src:  address{r.SourceAddrTON, r.SourceAddrNPI, r.SourceAddr},
	}
	for _, d := range r.DestAddresses {
		if d.DestFlag == smpp.DestFlagSMEAddress {
			sub.dests = append(sub.dests, address{d.DestAddrTON, d.DestAddrNPI, d.DestinationAddr})
		}
	}
	data, payload := r.ShortMessage, false
	if len(data) == 0 && r.TLVs.Has(smpp.TagMessagePayload) {
		data, _ = r.TLVs.Get(smpp.TagMessagePayload)
		payload = true
	}
	sim.fillMessage(sub, r.ESMClass, r.RegisteredDelivery, r.DataCoding, data, r.TLVs)
	sub.msg.Payload = payload
	return sub
}

// fillMessage decodes the text and segment information of a submit into
// sub.msg.
func (sim *Simulator) fillMessage(sub *submission, esmClass, registered uint8,
	coding smpp.DataCoding, data []byte, tlvs smpp.TLVs) {
	m := &sub.msg
	m.Time = time.Now()
	m.SystemID = sub.sess.SystemID()
	m.Command = sub.req.CommandID().String()
	m.PDU = sub.req
	m.Source, m.SourceTON, m.SourceNPI = sub.src.Addr, sub.src.TON, sub.src.NPI
	for _, d := range sub.dests {
		m.Destinations = append(m.Destinations, d.Addr)
	}
	if len(m.Destinations) > 0 {
		m.Destination = m.Destinations[0]
	}
	m.ESMClass, m.RegisteredDelivery, m.DataCoding = esmClass, registered, coding

	ud, err := smpp.ParseUserData(coding, data, esmClass&smpp.ESMClassUDHI != 0, sim.cfg.Text)
	if err != nil {
		m.TextError = err.Error()
		return
	}
	sub.body = ud.Body
	m.UDH = ud.Header
	if text, err := ud.Text(coding, sim.cfg.Text); err != nil {
		m.TextError = err.Error()
	} else {
		m.Text = text
	}
	if ud.Header != nil {
		if c, ok := ud.Header.Concat(); ok {
			m.Part, m.PartSource = c, "udh"
			return
		}
	}
	if sar, err := tlvs.SAR(); err == nil {
		m.Part = smpp.ConcatInfo{Ref: sar.RefNum, Total: sar.TotalSegments, Seq: sar.SegmentSeqnum}
		m.PartSource = "sar"
	}
}

// decision is the simulator's response to one submit, decided under its
// lock.
type decision struct {
	status    smpp.CommandStatus
	rule      *ruleAction
	receipt   *receipt // set when a receipt is to be sent
	throttled bool
}

// decide applies the throttle and the rules to a submit and, when it is
// accepted, gives it an id.
func (sim *Simulator) decide(sub *submission) decision {
	sim.mu.Lock()
	defer sim.mu.Unlock()
	var d decision
	if sim.limiter != nil && !sim.limiter.Allow() {
		d.status, d.throttled = smpp.StatusThrottled, true
		return d
	}
	d.rule = sim.rules.apply(sub.msg.Destinations, sub.msg.Text)
	if d.rule != nil && (d.rule.rule.Drop || d.rule.rule.Status != 0) {
		d.status = d.rule.rule.Status
		return d
	}

	sim.lastID++
	id := sim.lastID
	b := sim.behaviour
	sub.msg.ID = b.ResponseIDFormat.Format(id)
	sub.msg.ReceiptID = b.ReceiptIDFormat.Format(id)
	r := sim.newReceipt(sub, id, b, d.rule)
	sim.accepted.add(id, acceptedMessage{
		final: time.Now().Add(b.ReceiptDelay),
		state: r.state,
		err:   uint8(min(r.networkError.ErrorCode, 255)),
	})
	if r.wanted(sub.msg.RegisteredDelivery) {
		d.receipt = r
	}
	return d
}

// handleSubmit responds to a submit: it records it, applies the throttle and
// the rules, and schedules the receipt of an accepted message.
func (sim *Simulator) handleSubmit(ctx context.Context, sub *submission) smpp.PDU {
	d := sim.decide(sub)
	sub.msg.Status = d.status
	if d.rule != nil && d.rule.rule.Drop {
		sub.msg.Dropped = true
	}
	if d.status == smpp.StatusOK && !sub.msg.Dropped {
		sim.reassemble(sub)
	}
	m := sim.rec.addMessage(sub.msg)
	sim.logMessage(m, d)

	if sub.msg.Dropped {
		return sim.drop(ctx, sub, d.rule)
	}
	if d.rule != nil && d.rule.rule.Delay > 0 {
		// A delay cut short by a closing session or simulator still ends
		// in a response, so a graceful shutdown leaves no submit without one.
		sim.sleep(ctx, d.rule.rule.Delay)
	}
	if d.status != smpp.StatusOK {
		return smpp.NewResponse(sub.req, d.status)
	}

	resp := accepted(sub.req, sub.msg.ID)
	if d.receipt != nil {
		sim.sendReceiptFor(ctx, sub, d.receipt)
	}
	return resp
}

// accepted builds the successful response to a submit.
func accepted(req smpp.PDU, id string) smpp.PDU {
	resp := smpp.NewResponse(req, smpp.StatusOK)
	switch r := resp.(type) {
	case *smpp.SubmitSMResp:
		r.MessageID = id
	case *smpp.DataSMResp:
		r.MessageID = id
	case *smpp.SubmitMultiResp:
		r.MessageID = id
	}
	return resp
}

// drop sends no response to a submit: it closes the connection at the rule's
// last submit, or when the simulator stops, and returns only once the
// connection is closed, so that the response it returns is never written.
func (sim *Simulator) drop(ctx context.Context, sub *submission, act *ruleAction) smpp.PDU {
	c := sim.connOf(sub.sess)
	if act.last || act.rule.Count == 0 {
		sim.log.Info("dropping the connection as a rule asks",
			zap.String("system_id", sub.msg.SystemID), zap.Stringer("remote_addr", sub.sess.RemoteAddr()))
		sub.sess.Close()
	}
	closed := ctx.Done()
	if c != nil {
		// The session cancels ctx a moment before it closes the
		// connection, and a response returned in between would go out.
		closed = c.done
	}
	select {
	case <-closed:
	case <-sim.ctx.Done():
		sub.sess.Close()
		<-closed
	}
	return smpp.NewResponse(sub.req, smpp.StatusSystemError)
}

// sleep waits for d and reports whether ctx and the simulator are still
// up.
func (sim *Simulator) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-sim.ctx.Done():
		return false
	}
}

// reassemble joins the segments of long messages, so that the segment
// completing one carries the whole text.
func (sim *Simulator) reassemble(sub *submission) {
	m := &sub.msg
	if m.TextError != "" {
		return
	}
	if m.Part.Total <= 1 {
		m.FullText = m.Text
		return
	}
	whole, err := sim.reassembler.Add(smpp.Part{
		Key: smpp.PartKey{Session: m.SystemID, Source: m.Source, Destination: m.Destination,
			Ref: m.Part.Ref, Total: m.Part.Total},
		Seq:    m.Part.Seq,
		Coding: m.DataCoding,
		Body:   sub.body,
	})
	if err != nil {
		m.TextError = fmt.Sprintf("reassembly: %v", err)
		return
	}
	if whole != nil {
		if text, err := whole.Text(sim.cfg.Text); err == nil {
			m.FullText = text
		} else {
			m.TextError = fmt.Sprintf("reassembled text: %v", err)
		}
	}
}

func (sim *Simulator) logMessage(m Message, d decision) {
	ce := sim.log.Check(zap.DebugLevel, "message received")
	if ce == nil {
		return
	}
	fields := []zap.Field{
		zap.Int("seq", m.Seq),
		zap.String("system_id", m.SystemID),
		zap.String("command", m.Command),
		zap.String("source", m.Source),
		zap.Strings("destinations", m.Destinations),
		zap.Stringer("command_status", m.Status),
		zap.String("message_id", m.ID),
		zap.String("text", m.Text),
	}
	if m.Part.Total > 0 {
		fields = append(fields, zap.Uint8("part", m.Part.Seq), zap.Uint8("parts", m.Part.Total))
	}
	if d.throttled {
		fields = append(fields, zap.Bool("throttled", true))
	}
	if m.Dropped {
		fields = append(fields, zap.Bool("dropped", true))
	}
	ce.Write(fields...)
}

// query responds to query_sm from the log of accepted messages. The id is read
// in the current response id format.
func (sim *Simulator) query(q *smpp.QuerySM) smpp.PDU {
	sim.mu.Lock()
	n, ok := sim.behaviour.ResponseIDFormat.Parse(q.MessageID)
	m, found := sim.accepted.byID[n]
	sim.mu.Unlock()
	if !ok || !found {
		return smpp.NewResponse(q, smpp.StatusQueryFailed)
	}
	resp := smpp.NewResponse(q, smpp.StatusOK).(*smpp.QuerySMResp)
	resp.MessageID = q.MessageID
	resp.MessageState = smpp.StateEnroute
	if !time.Now().Before(m.final) {
		resp.MessageState = m.state
		resp.FinalDate = absoluteTime(m.final)
		resp.ErrorCode = m.err
	}
	return resp
}

// absoluteTime writes t in the absolute time format of SMPP 3.4 section
// 7.1.1, YYMMDDhhmmsstnnp, in UTC.
func absoluteTime(t time.Time) string {
	t = t.UTC()
	return t.Format("060102150405") + fmt.Sprintf("%d00+", t.Nanosecond()/100_000_000)
}
