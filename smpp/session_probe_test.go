package smpp

import (
	"errors"
	"testing"
	"time"
)

func TestClientDropsLinkAfterSubmitTimeout(t *testing.T) {
	checkLeaks(t)
	const timeout = time.Second
	// The SMSC reads everything and answers only unbind, so every
	// submit_sm and enquire_link goes unanswered.
	read := make(chan CommandID, 64)
	addr := bindAndServe(t, func(p *rawPeer) {
		for {
			pdu, ok := p.readQuiet()
			if !ok {
				return
			}
			select {
			case read <- pdu.CommandID():
			default:
			}
			if pdu.CommandID() == UnbindID {
				p.answerOK(pdu)
			}
		}
	})
	cfg := testClientConfig(addr)
	cfg.ResponseTimeout = timeout
	c := dialClient(t, cfg)

	first := make(chan error, 1)
	go func() {
		_, err := c.Submit(testCtx(t), testSubmit("first"))
		first <- err
	}()
	// The second submit is written before the first times out, and its
	// own timeout ends after the probe that follows has given up.
	time.Sleep(timeout * 9 / 10)
	_, err := c.Submit(testCtx(t), testSubmit("second"))
	if errFirst := <-first; !errors.Is(errFirst, ErrResponseTimeout) {
		t.Errorf("first submit: %v, want ErrResponseTimeout", errFirst)
	}
	if !errors.Is(err, ErrLinkDead) {
		t.Errorf("second submit: %v, want ErrLinkDead from the unanswered enquire_link", err)
	}
	if errors.Is(err, ErrResponseTimeout) {
		t.Errorf("second submit waited out its own timeout: %v", err)
	}

	probed := false
	for len(read) > 0 {
		if <-read == EnquireLinkID {
			probed = true
		}
	}
	if !probed {
		t.Error("no enquire_link reached the SMSC after the submit timed out")
	}
}
