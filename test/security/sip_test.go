package security

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/icholy/digest"
)

// listenRTP returns a local UDP socket named as the media address of the
// test's INVITEs, so that any audio stays on this machine.
func listenRTP(t *testing.T) net.Addr {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	return pc.LocalAddr()
}

// noTextsFrom fails the test when the carrier received a text from the
// number from.
func (r *rig) noTextsFrom(from string) {
	r.t.Helper()
	for _, m := range r.d.Simulator().Messages() {
		if "+"+m.Source == from {
			r.t.Errorf("the carrier received %q from %s", m.Text, m.Source)
		}
	}
}

// TestSIPWrongDigestPassword sends MESSAGE and INVITE requests for acme's
// number, whose trunk needs digest authentication. Without credentials
// and with a wrong password the daemon responds 401 with a fresh challenge
// (RFC 3261 section 22.2), and no text reaches the carrier. The right
// password then goes through.
func TestSIPWrongDigestPassword(t *testing.T) {
	r := newRig(t, rigOptions{sip: true})
	r.optIn("acme", subscriber)
	c := dialSIP(t, r.d.SIPAddr("tcp"), nil)

	q := message(acmeTollFree, subscriber, "with a wrong password")
	challenge := c.do(q)
	if challenge.StatusCode != 401 {
		t.Fatalf("MESSAGE without credentials: status %d, want 401", challenge.StatusCode)
	}
	for i, password := range []string{"pbxS3cret-acmf", globexPassword} {
		q.auth = authorize(t, challenge, q, acmeSIPUser, password, i+1)
		q.cseq++
		res := c.do(q)
		if res.StatusCode != 401 || res.GetHeader("WWW-Authenticate") == nil {
			t.Errorf("MESSAGE with password %q: status %d, want 401 with a new challenge", password, res.StatusCode)
		}
		if h := res.GetHeader("WWW-Authenticate"); h != nil && strings.Contains(strings.ToLower(h.Value()), "stale=true") {
			t.Errorf("MESSAGE with password %q: the challenge says stale, want a plain one: %s", password, h.Value())
		}
	}

	// A call is authenticated the same way.
	call := invite(subscriber, acmeTollFree, listenRTP(t))
	res := c.do(call)
	if res.StatusCode != 401 {
		t.Fatalf("INVITE without credentials: status %d, want 401", res.StatusCode)
	}
	call.auth = authorize(t, res, call, acmeSIPUser, "not-the-password", 1)
	call.cseq++
	if res := c.do(call); res.StatusCode != 401 {
		t.Errorf("INVITE with a wrong password: status %d, want 401", res.StatusCode)
	}

	time.Sleep(100 * time.Millisecond)
	r.noTextsFrom(acmeTollFree)

	// Three failures, digestFailuresAllowed, do not lock the address out:
	// the right password works.
	if res := c.messageAs(message(acmeTollFree, subscriber, "right password"), acmeSIPUser, acmeSIPPassword); res.StatusCode != 202 {
		t.Errorf("MESSAGE with the right password: status %d %s, want 202; %s", res.StatusCode, res.Reason, warningOf(res))
	}
}

// TestSIPDigestFloodLockedOut guesses acme's digest password many times
// from one address while globex's PBX, allowed by address, keeps sending.
// After digestFailuresAllowed failures each checked guess locks the source out, and
// while it is locked out every request with credentials gets 403 without
// a check, even one with the right password (RFC 3261 section 21.4.4).
// Every globex MESSAGE meanwhile is accepted, and no acme text goes out.
func TestSIPDigestFloodLockedOut(t *testing.T) {
	const flood = 40
	r := newRig(t, rigOptions{sip: true})
	r.optIn("acme", subscriber)
	r.optIn("globex", subscriber)

	var sent atomic.Int32
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		c := dialSIP(t, r.d.SIPAddr("tcp"), nil)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			res, err := c.tryDo(message(globexTollFree, subscriber, fmt.Sprintf("during the flood %d", i)))
			if err != nil || res.StatusCode != 202 {
				t.Errorf("globex MESSAGE %d during the flood: response %v, error %v; want 202", i, res, err)
				return
			}
			sent.Add(1)
			time.Sleep(5 * time.Millisecond)
		}
	})

	c := dialSIP(t, r.d.SIPAddr("tcp"), nil)
	q := message(acmeTollFree, subscriber, "guessed")
	challenge := c.do(q)
	var statuses []int
	var lastChecked time.Time
	before := sent.Load()
	for i := range flood {
		q.auth = authorize(t, challenge, q, acmeSIPUser, fmt.Sprintf("guess%03d", i), i+1)
		q.cseq++
		res := c.do(q)
		statuses = append(statuses, res.StatusCode)
		switch res.StatusCode {
		case 401:
			lastChecked = time.Now()
		case 403:
			if w := warningOf(res); !strings.Contains(w, "too many failed authentication attempts") {
				t.Errorf("guess %d: 403 with Warning %q, want one naming the lockout", i, w)
			}
		default:
			t.Errorf("guess %d: status %d, want 401 or 403", i, res.StatusCode)
		}
		// A pace that lets globex's texts interleave with the guesses.
		time.Sleep(10 * time.Millisecond)
	}
	during := sent.Load() - before

	// The right password right after the flood is refused as well.
	right := message(acmeTollFree, subscriber, "right password while locked out")
	right.auth = authorize(t, challenge, right, acmeSIPUser, acmeSIPPassword, flood+1)
	res := c.do(right)
	locked := time.Since(lastChecked) < digestLockout
	close(stop)
	wg.Wait()

	for i, st := range statuses[:digestFailuresAllowed+1] {
		if st != 401 {
			t.Errorf("guess %d of the first %d: status %d, want 401", i, digestFailuresAllowed+1, st)
		}
	}
	// Each guess the daemon checks after the free ones starts a lockout,
	// so two checked guesses never follow each other.
	for i := digestFailuresAllowed + 1; i < len(statuses); i++ {
		if statuses[i] == 401 && statuses[i-1] == 401 {
			t.Errorf("guesses %d and %d were both checked (401); want the second refused with 403", i-1, i)
		}
	}
	if locked && res.StatusCode != 403 {
		t.Errorf("the right password during the lockout: status %d, want 403", res.StatusCode)
	}
	if n := len(r.logs.FilterMessage("sip source locked out after failed digest authentication").All()); n == 0 {
		t.Error("no warning logged for the lockout")
	}
	if during < 3 {
		t.Errorf("globex sent only %d texts during the flood; the test did not overlap them", during)
	}
	waitFor(t, "globex's texts at the carrier", func() bool { return len(r.d.Simulator().Messages()) >= int(sent.Load()) })
	r.noTextsFrom(acmeTollFree)

	// The lockout ends: the right password goes through again. Requests
	// made while locked out do not extend it.
	waitFor(t, "acme's PBX to authenticate after the lockout", func() bool {
		return c.messageAs(message(acmeTollFree, subscriber, "after the lockout"), acmeSIPUser, acmeSIPPassword).StatusCode == 202
	})
	t.Logf("%d guesses: statuses %v; globex sent %d texts meanwhile", flood, statuses, during)
}

// TestSIPForgedNonceNoLockout sends acme's trunk many requests whose
// Authorization carries a nonce the daemon never issued, as anyone can
// with a forged source address over UDP, and then replays an accepted
// request. Neither counts as a failed attempt: each gets a fresh 401
// challenge, and the right password then gets 202 instead of the 403 of
// a lockout.
func TestSIPForgedNonceNoLockout(t *testing.T) {
	const flood = 40
	r := newRig(t, rigOptions{sip: true})
	r.optIn("acme", subscriber)
	c := dialSIP(t, r.d.SIPAddr("tcp"), nil)

	q := message(acmeTollFree, subscriber, "with a forged nonce")
	for i := range flood {
		var nonce [16]byte
		_, _ = rand.Read(nonce[:])
		chal := &digest.Challenge{Realm: sipRealm, Nonce: hex.EncodeToString(nonce[:]), Algorithm: "MD5",
			QOP: []string{"auth"}}
		cred, err := digest.Digest(chal, digest.Options{Method: q.method, URI: q.uri(), Username: acmeSIPUser,
			Password: fmt.Sprintf("guess%03d", i), Count: 1})
		if err != nil {
			t.Fatalf("forge credentials: %v", err)
		}
		q.auth = cred.String()
		q.cseq++
		res := c.do(q)
		if res.StatusCode != 401 || res.GetHeader("WWW-Authenticate") == nil {
			t.Fatalf("forged nonce %d: status %d %s, want 401 with a new challenge", i, res.StatusCode, warningOf(res))
		}
	}
	if res := c.messageAs(message(acmeTollFree, subscriber, "right password after forged nonces"),
		acmeSIPUser, acmeSIPPassword); res.StatusCode != 202 {
		t.Fatalf("right password after %d forged nonces: status %d %s, want 202", flood, res.StatusCode, warningOf(res))
	}

	// A replayed request, its nonce count repeated, is challenged again
	// and not counted either.
	replayed := message(acmeTollFree, subscriber, "replayed")
	challenge := c.do(replayed)
	replayed.auth = authorize(t, challenge, replayed, acmeSIPUser, acmeSIPPassword, 1)
	for i := range 2*digestFailuresAllowed + 2 {
		replayed.cseq++
		res := c.do(replayed)
		want := 401
		if i == 0 {
			want = 202
		}
		if res.StatusCode != want {
			t.Fatalf("use %d of one nonce count: status %d %s, want %d", i+1, res.StatusCode, warningOf(res), want)
		}
	}
	if res := c.messageAs(message(acmeTollFree, subscriber, "right password after replays"),
		acmeSIPUser, acmeSIPPassword); res.StatusCode != 202 {
		t.Fatalf("right password after replays: status %d %s, want 202", res.StatusCode, warningOf(res))
	}
	waitFor(t, "acme's texts at the carrier", func() bool { return len(r.d.Simulator().Messages()) >= 3 })
	if n := len(r.d.Simulator().Messages()); n != 3 {
		t.Errorf("the carrier received %d texts, want 3: two right passwords and one use of the replayed request", n)
	}
}

// TestSIPSenderNotOwnedBlocked sends MESSAGE requests from a toll-free
// number of another account: acme authenticated by digest sending as
// globex gets 403 with the sender_not_owned Warning, and globex's PBX,
// allowed by address, sending as acme is challenged for acme's
// credentials. Neither text goes out.
func TestSIPSenderNotOwnedBlocked(t *testing.T) {
	r := newRig(t, rigOptions{sip: true})
	r.optIn("acme", subscriber)
	r.optIn("globex", subscriber)
	c := dialSIP(t, r.d.SIPAddr("tcp"), nil)

	// A challenge for acme's trunk, answered on a MESSAGE from globex's
	// number: without credentials globex's address trunk would take it.
	challenge := c.do(message(acmeTollFree, subscriber, "challenge"))
	q := message(globexTollFree, subscriber, "acme as globex")
	q.auth = authorize(t, challenge, q, acmeSIPUser, acmeSIPPassword, 1)
	res := c.do(q)
	if res.StatusCode != 403 || !strings.Contains(warningOf(res), "sender_not_owned") {
		t.Errorf("acme's MESSAGE from globex's number: %d %s, Warning %q; want 403 with sender_not_owned",
			res.StatusCode, res.Reason, warningOf(res))
	}

	if res := c.do(message(acmeTollFree, subscriber, "globex as acme")); res.StatusCode != 401 {
		t.Errorf("MESSAGE from acme's number without credentials: status %d, want 401", res.StatusCode)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(r.d.Simulator().Messages()); n != 0 {
		t.Errorf("the carrier received %d texts, want 0", n)
	}

	// Each sends from its own number.
	if res := c.messageAs(message(acmeTollFree, subscriber, "acme as acme"), acmeSIPUser, acmeSIPPassword); res.StatusCode != 202 {
		t.Errorf("acme's MESSAGE from its own number: status %d, want 202; %s", res.StatusCode, warningOf(res))
	}
	if res := c.do(message(globexTollFree, subscriber, "globex as globex")); res.StatusCode != 202 {
		t.Errorf("globex's MESSAGE from its own number: status %d, want 202; %s", res.StatusCode, warningOf(res))
	}
}

// TestSIPOversizedRequest sends requests over the 65535-byte limit of a
// SIP message on a stream. One with a large body gets 513 Message Too
// Large (RFC 3261 section 21.5.11) and the connection closes; a header
// block that never ends closes the connection. The daemon keeps serving.
func TestSIPOversizedRequest(t *testing.T) {
	r := newRig(t, rigOptions{sip: true})
	r.optIn("globex", subscriber)

	c := dialSIP(t, r.d.SIPAddr("tcp"), nil)
	res := c.do(message(globexTollFree, subscriber, strings.Repeat("x", 70<<10)))
	if res.StatusCode != 513 {
		t.Errorf("MESSAGE with a 70 KiB body: status %d, want 513", res.StatusCode)
	}
	c.closed()

	c = dialSIP(t, r.d.SIPAddr("tcp"), nil)
	head := "MESSAGE sip:" + subscriber + "@127.0.0.1 SIP/2.0\r\n" + strings.Repeat("X-Padding: "+strings.Repeat("a", 100)+"\r\n", 700)
	if _, err := c.conn.Write([]byte(head)); err != nil {
		t.Fatal(err)
	}
	if got := c.closed(); strings.Contains(got, "SIP/2.0 2") {
		t.Errorf("a 70 KiB header block was accepted: %q", got)
	}

	c = dialSIP(t, r.d.SIPAddr("tcp"), nil)
	if res := c.do(message(globexTollFree, subscriber, "after the oversized requests")); res.StatusCode != 202 {
		t.Errorf("MESSAGE after the oversized requests: status %d, want 202", res.StatusCode)
	}
	for _, m := range r.d.Simulator().Messages() {
		if strings.HasPrefix(m.Text, "xxx") {
			t.Errorf("the oversized text reached the carrier")
		}
	}
}
