package sip

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/optgate/optgate/gateway"
	"github.com/optgate/optgate/smpp"
)

// maxUDPRequest is the largest request sent over UDP. RFC 3261 section
// 18.1.1 requires a congestion-controlled transport for requests larger
// than 1300 bytes when the path MTU is unknown.
const maxUDPRequest = 1300

// Target implements gateway.Targets. It returns the Deliverer of an
// account whose delivery type is sip: each MO text and receipt goes to
// the account's delivery.sip_uri as a MESSAGE.
func (s *Server) Target(queue string) (gateway.Deliverer, bool) {
	if _, ok := s.dir.Load().delivery[queue]; !ok {
		return nil, false
	}
	return gateway.DelivererFunc(func(ctx context.Context, item gateway.Item) error {
		return s.deliver(ctx, queue, item)
	}), true
}

// deliver sends one queued item to the account's PBX. A 2xx response
// delivers it. A timeout, a transport error, 408, 480, 486, 5xx and 600
// are temporary, so the dispatcher retries with back-off. Other responses
// are permanent, because the PBX will refuse the item again.
func (s *Server) deliver(ctx context.Context, account string, item gateway.Item) error {
	target, ok := s.dir.Load().delivery[account]
	if !ok {
		return gateway.Permanent(fmt.Errorf("sip delivery: account %s has no sip_uri", account))
	}
	s.mu.Lock()
	running := s.started && !s.closing
	udp, tcp := s.udpClient, s.tcpClient
	host := s.hostname
	s.mu.Unlock()
	if !running {
		return fmt.Errorf("sip delivery: %w: server not running", gateway.ErrTargetUnavailable)
	}

	req, err := deliveryRequest(item, target, host)
	if err != nil {
		return gateway.Permanent(fmt.Errorf("sip delivery: %w", err))
	}
	client, err := chooseTransport(req, target, udp, tcp)
	if err != nil {
		return gateway.Permanent(fmt.Errorf("sip delivery: %w", err))
	}
	res, err := client.Do(ctx, req)
	if err != nil {
		return fmt.Errorf("sip delivery: message to %s: %w", target.String(), err)
	}
	if res == nil {
		// sipgo ends a transaction without an error when its user agent
		// closes, as Stop does.
		return fmt.Errorf("sip delivery: message to %s: %w: transaction ended without a response",
			target.String(), gateway.ErrTargetUnavailable)
	}
	switch code := res.StatusCode; {
	case res.IsSuccess():
		return nil
	case code == 408 || code == 480 || code == 486 || code == 600 || res.IsServerError():
		return fmt.Errorf("sip delivery: %s responded %d %s", target.String(), code, res.Reason)
	default:
		return gateway.Permanent(fmt.Errorf("sip delivery: %s responded %d %s", target.String(), code, res.Reason))
	}
}

// chooseTransport sets req's transport from the target URI and returns
// the client that sends it. A sips: URI or transport=tls uses TLS,
// transport=tcp TCP; otherwise UDP, unless the request is too large for
// UDP (RFC 3261 section 18.1.1), when TCP is used.
func chooseTransport(req *sip.Request, target sip.Uri, udp, tcp *sipgo.Client) (*sipgo.Client, error) {
	param, explicit := "", false
	if target.UriParams != nil {
		param, explicit = target.UriParams.Get("transport")
	}
	transport := strings.ToUpper(param)
	switch {
	case target.Scheme == "sips":
		transport = "TLS"
	case transport == "":
		transport = "UDP"
	}
	if transport == "UDP" && (len(req.String()) > maxUDPRequest || udp == nil) {
		if explicit {
			return nil, fmt.Errorf("request of %d bytes is too large for transport=udp of %s",
				len(req.String()), target.String())
		}
		transport = "TCP"
	}
	switch transport {
	case "UDP":
		req.SetTransport("UDP")
		return udp, nil
	case "TCP", "TLS":
		req.SetTransport(transport)
		return tcp, nil
	}
	return nil, fmt.Errorf("transport %q of %s is not udp, tcp or tls", param, target.String())
}

// deliveryRequest builds the MESSAGE for an MO text or a receipt. From
// names the subscriber at optgate's host and To the account's toll-free
// number at the target's host; the Request-URI is the target as
// configured. The body is text/plain in UTF-8, and Content-Length counts
// its bytes (RFC 3261 section 20.14).
func deliveryRequest(item gateway.Item, target sip.Uri, host string) (*sip.Request, error) {
	var from, to, body string
	var headers []sip.Header
	contentType := contentTextUTF8
	switch {
	case item.Kind == gateway.KindMO && item.MO != nil:
		mo := item.MO
		from, to, body = mo.From, mo.To, mo.Text
		headers = append(headers, sip.NewHeader(HeaderKind, "mo"), sip.NewHeader(HeaderMOID, mo.ID))
		if mo.Keyword != "" {
			headers = append(headers, sip.NewHeader(HeaderKeyword, mo.Keyword))
		}
		if mo.Partial {
			headers = append(headers, sip.NewHeader(HeaderPartial, "true"))
		}
		if mo.Undecodable {
			// The octets are passed on as they came, with their SMPP
			// data_coding (SMPP 3.4 section 5.2.19) as a parameter.
			contentType = "application/octet-stream;data-coding=" + strconv.Itoa(int(mo.DataCoding))
			body = string(mo.Data)
		}
	case item.Kind == gateway.KindReceipt && item.Receipt != nil:
		r := item.Receipt
		from, to, body = r.To, r.From, receiptText(r, item)
		headers = append(headers, sip.NewHeader(HeaderKind, "receipt"),
			sip.NewHeader(HeaderMessageID, r.MessageID), sip.NewHeader(HeaderStatus, r.Stat))
		if r.ClientRef != "" {
			headers = append(headers, sip.NewHeader(HeaderClientRef, r.ClientRef))
		}
	default:
		return nil, fmt.Errorf("item %d of %s is neither an MO nor a receipt", item.Seq, item.Queue)
	}
	if from == "" || to == "" {
		return nil, errors.New("item has no from or to number")
	}

	req := sip.NewRequest(sip.MESSAGE, target)
	fromHdr := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: from, Host: host}, Params: sip.NewParams()}
	fromHdr.Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(fromHdr)
	req.AppendHeader(&sip.ToHeader{
		Address: sip.Uri{Scheme: target.Scheme, User: to, Host: target.Host, Port: target.Port},
		Params:  sip.NewParams(),
	})
	req.AppendHeader(sip.NewHeader("Content-Type", contentType))
	req.AppendHeader(sip.NewHeader(HeaderDelivery, item.Queue+":"+strconv.FormatUint(item.Seq, 10)))
	for _, h := range headers {
		req.AppendHeader(h)
	}
	req.SetBody([]byte(body))
	return req, nil
}

// receiptText formats a receipt as SMPP 3.4 appendix B text, the form
// SMPP businesses get, so a PBX can read receipts from either.
func receiptText(r *gateway.ReceiptItem, item gateway.Item) string {
	text := smpp.Receipt{
		ID: r.MessageID, Submitted: "001", Delivered: "000",
		SubmitDate: r.SubmitDate, DoneDate: r.DoneDate, State: r.State, Stat: r.Stat, Err: r.Err,
	}
	if r.State == smpp.StateDelivered {
		text.Delivered = "001"
	}
	if text.DoneDate.IsZero() {
		text.DoneDate = item.Enqueued
	}
	if text.Err == "" {
		text.Err = "000"
	}
	return text.String()
}
