package sip

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/optgate/optgate/consent"
)

// newClient returns a sipgo client that sends from its own UDP socket.
func newClient(t testing.TB) *sipgo.Client {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ua.Close() })
	c, err := sipgo.NewClient(ua)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newMessage returns a MESSAGE request from a toll-free number to a
// customer, for a sipgo client.
func newMessage(t testing.TB, target, from, to, text string) *sip.Request {
	t.Helper()
	host, port, err := sip.ParseAddr(target)
	if err != nil {
		t.Fatal(err)
	}
	req := sip.NewRequest(sip.MESSAGE, sip.Uri{Scheme: "sip", User: to, Host: host, Port: port})
	fromHdr := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: from, Host: "127.0.0.1"}, Params: sip.NewParams()}
	fromHdr.Params.Add("tag", sip.GenerateTagN(10))
	req.AppendHeader(fromHdr)
	req.AppendHeader(sip.NewHeader("Content-Type", contentTextUTF8))
	req.SetBody([]byte(text))
	return req
}

func TestDigestChallengeAndRetry(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.setState("beta", customer, consent.StateOptedIn)
	client := newClient(t)
	ctx, cancel := context.WithTimeout(f.ctx, testTimeout)
	defer cancel()

	req := newMessage(t, f.addr("udp"), tfBeta, customer, "Your book is in")
	res, err := client.Do(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 401 {
		t.Fatalf("first status = %d, want 401", res.StatusCode)
	}
	chal, err := digest.ParseChallenge(header(res, "WWW-Authenticate"))
	if err != nil {
		t.Fatalf("WWW-Authenticate: %v", err)
	}
	if chal.Realm != "optgate" || chal.Algorithm != "MD5" || !chal.SupportsQOP("auth") || chal.Stale {
		t.Errorf("challenge = %+v, want realm optgate, MD5, qop auth, not stale", chal)
	}

	res, err = client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: betaUser, Password: betaPassword})
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 202 {
		t.Fatalf("status after authentication = %d (%s), want 202", res.StatusCode, header(res, "Warning"))
	}
	if got := f.waitMessages(1)[0].Source; got != "18005550100" {
		t.Errorf("carrier source = %q, want beta's number", got)
	}

	// The same Authorization again, with the same nonce count, is a
	// replay: the request is challenged once more and nothing is sent.
	replay := req.Clone()
	replay.RemoveHeader("Via")
	replay.CSeq().SeqNo++
	res, err = client.Do(ctx, replay)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 401 {
		t.Errorf("replayed credentials: status = %d, want 401", res.StatusCode)
	}
	if n := len(f.sim.Messages()); n != 1 {
		t.Errorf("simulator got %d messages, want 1", n)
	}
}

func TestDigestWrongPasswordChallengedAgain(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.setState("beta", customer, consent.StateOptedIn)
	client := newClient(t)
	ctx, cancel := context.WithTimeout(f.ctx, testTimeout)
	defer cancel()
	req := newMessage(t, f.addr("udp"), tfBeta, customer, "Hello")
	res, err := client.Do(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	res, err = client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: betaUser, Password: "wrong"})
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 401 {
		t.Fatalf("status = %d, want 401", res.StatusCode)
	}
	if n := len(f.sim.Messages()); n != 0 {
		t.Errorf("simulator got %d messages, want 0", n)
	}
}

// fakeClock is a clock the test moves.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

// signedRequest returns a MESSAGE with Authorization computed by the
// digest package for the challenge value chal.
func signedRequest(t *testing.T, chal string, user, password string) *sip.Request {
	t.Helper()
	req := sip.NewRequest(sip.MESSAGE, sip.Uri{Scheme: "sip", User: customer, Host: "127.0.0.1", Port: 5060})
	c, err := digest.ParseChallenge(chal)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := digest.Digest(c, digest.Options{Method: "MESSAGE", URI: req.Recipient.Addr(),
		Username: user, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	req.AppendHeader(sip.NewHeader("Authorization", cred.String()))
	return req
}

func credentials(t *testing.T, req *sip.Request) *digest.Credentials {
	t.Helper()
	cred, err := digest.ParseCredentials(req.GetHeader("Authorization").Value())
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

func TestDigestVerifier(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)}
	v, err := newDigestVerifier(time.Minute, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	pbxAddr := netip.MustParseAddr("192.0.2.10")
	sha := sha256.Sum256([]byte("pbx:optgate:pw"))
	md5Trunk := &trunk{name: "md5", username: "pbx", realm: "optgate", ha1: ha1("pbx", "optgate", "pw"), algorithm: "MD5"}
	shaTrunk := &trunk{name: "sha", username: "pbx", realm: "optgate", ha1: hex.EncodeToString(sha[:]),
		algorithm: "SHA-256"}

	t.Run("MD5 accepted once", func(t *testing.T) {
		req := signedRequest(t, v.challenge("optgate", "MD5", false, pbxAddr), "pbx", "pw")
		if err := v.verify(req, credentials(t, req), md5Trunk, pbxAddr); err != nil {
			t.Fatalf("verify: %v", err)
		}
		if err := v.verify(req, credentials(t, req), md5Trunk, pbxAddr); err == nil {
			t.Error("the same nonce count verified twice")
		}
	})
	t.Run("SHA-256", func(t *testing.T) {
		req := signedRequest(t, v.challenge("optgate", "SHA-256", false, pbxAddr), "pbx", "pw")
		if err := v.verify(req, credentials(t, req), shaTrunk, pbxAddr); err != nil {
			t.Fatalf("verify: %v", err)
		}
	})
	t.Run("algorithm mismatch", func(t *testing.T) {
		req := signedRequest(t, v.challenge("optgate", "MD5", false, pbxAddr), "pbx", "pw")
		if err := v.verify(req, credentials(t, req), shaTrunk, pbxAddr); err == nil {
			t.Error("MD5 credentials verified against a SHA-256 H(A1)")
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		req := signedRequest(t, v.challenge("optgate", "MD5", false, pbxAddr), "pbx", "nope")
		if err := v.verify(req, credentials(t, req), md5Trunk, pbxAddr); err == nil {
			t.Error("wrong password verified")
		}
	})
	t.Run("other request-URI", func(t *testing.T) {
		req := signedRequest(t, v.challenge("optgate", "MD5", false, pbxAddr), "pbx", "pw")
		req.Recipient.User = customer2
		if err := v.verify(req, credentials(t, req), md5Trunk, pbxAddr); err == nil {
			t.Error("credentials for another request-URI verified")
		}
	})
	t.Run("forged nonce", func(t *testing.T) {
		chal := strings.Replace(v.challenge("optgate", "MD5", false, pbxAddr), `nonce="`, `nonce="A`, 1)
		req := signedRequest(t, chal, "pbx", "pw")
		if err := v.verify(req, credentials(t, req), md5Trunk, pbxAddr); !errors.Is(err, errUnknownNonce) {
			t.Errorf("a nonce optgate did not issue: verify = %v, want errUnknownNonce", err)
		}
	})
	t.Run("expired nonce is stale", func(t *testing.T) {
		req := signedRequest(t, v.challenge("optgate", "MD5", false, pbxAddr), "pbx", "pw")
		clock.now = clock.now.Add(2 * time.Minute)
		if err := v.verify(req, credentials(t, req), md5Trunk, pbxAddr); err != errStaleNonce {
			t.Errorf("verify = %v, want errStaleNonce", err)
		}
	})
}
