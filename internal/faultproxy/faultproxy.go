// Package faultproxy is a TCP proxy that a test controls, placed between
// optgate and one of its peers (an SMSC, Redis) to inject network faults.
// It can delay each direction, silently drop everything sent one way,
// half-close one direction, reset every connection and reject new
// connections. Resume clears every fault that is still in force.
//
// The proxy listens on a free 127.0.0.1 port and forwards only to a
// loopback address, so a test cannot point it at another host.
package faultproxy

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Direction is one half of a proxied connection.
type Direction uint8

const (
	// Upstream carries bytes from the client that connected to the proxy
	// to the target.
	Upstream Direction = iota
	// Downstream carries bytes from the target back to the client.
	Downstream
)

func (d Direction) String() string {
	if d == Upstream {
		return "upstream"
	}
	return "downstream"
}

// ErrClosed is returned by calls on a proxy after Close.
var ErrClosed = errors.New("faultproxy: proxy closed")

// maxQueuedChunks bounds the chunks a delayed direction keeps in flight.
// When it is full the reader stops reading, so TCP flow control reaches
// the sender as it would on a slow link.
const maxQueuedChunks = 256

// Proxy forwards TCP connections from its listener to one target. Its
// methods are safe for concurrent use.
type Proxy struct {
	target   string
	listener net.Listener

	mu     sync.Mutex
	closed bool
	reject bool
	delay  [2]time.Duration
	drop   [2]bool
	conns  map[*link]struct{}
	total  int // connections accepted and forwarded since Start

	done chan struct{} // closed by Close
	wg   sync.WaitGroup
}

// link is one client connection and its connection to the target.
type link struct {
	client, server *net.TCPConn
	once           sync.Once
}

// Start listens on a free 127.0.0.1 port and forwards each connection to
// target, which must be a literal loopback address with a port.
func Start(target string) (*Proxy, error) {
	if err := checkLoopback(target); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listen: %w", err)
	}
	p := &Proxy{target: target, listener: l, conns: map[*link]struct{}{}, done: make(chan struct{})}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

func checkLoopback(target string) error {
	ap, err := netip.ParseAddrPort(target)
	if err != nil {
		return fmt.Errorf("faultproxy: invalid target %q: want a loopback ip:port such as 127.0.0.1:6379: %w", target, err)
	}
	if !ap.Addr().IsLoopback() {
		return fmt.Errorf("faultproxy: target %q is not a loopback address; the proxy forwards only to 127.0.0.0/8 or ::1", target)
	}
	return nil
}

// Addr returns the host:port that clients connect to.
func (p *Proxy) Addr() string { return p.listener.Addr().String() }

// Target returns the address the proxy forwards to.
func (p *Proxy) Target() string { return p.target }

// SetDelay holds every chunk sent in dir for d before forwarding it. Zero
// removes the delay. Chunks keep their order.
func (p *Proxy) SetDelay(dir Direction, d time.Duration) {
	p.mu.Lock()
	p.delay[dir] = d
	p.mu.Unlock()
}

// Drop discards every byte sent in dir from now on while the connections
// stay open, as a link that silently loses traffic does.
func (p *Proxy) Drop(dir Direction) {
	p.mu.Lock()
	p.drop[dir] = true
	p.mu.Unlock()
}

// Reject resets every new connection as soon as it is accepted. Open
// connections are not touched.
func (p *Proxy) Reject() {
	p.mu.Lock()
	p.reject = true
	p.mu.Unlock()
}

// Resume removes delays and drops and accepts new connections again.
// Connections that were half-closed or reset stay closed.
func (p *Proxy) Resume() {
	p.mu.Lock()
	p.reject = false
	p.delay = [2]time.Duration{}
	p.drop = [2]bool{}
	p.mu.Unlock()
}

// HalfClose closes the write side of dir on every open connection: the
// receiving end of dir reads EOF while the other direction keeps working.
// It returns how many connections it half-closed.
func (p *Proxy) HalfClose(dir Direction) int {
	n := 0
	for _, l := range p.snapshot() {
		c := l.server
		if dir == Downstream {
			c = l.client
		}
		if c.CloseWrite() == nil {
			n++
		}
	}
	return n
}

// Reset closes every open connection on both sides with an RST
// (SO_LINGER 0) and returns how many it reset.
func (p *Proxy) Reset() int {
	links := p.snapshot()
	for _, l := range links {
		l.reset()
	}
	return len(links)
}

// Open returns the number of connections being forwarded.
func (p *Proxy) Open() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// Accepted returns how many connections the proxy has forwarded since it
// started, counting those that are closed.
func (p *Proxy) Accepted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.total
}

// Close stops the listener, resets every connection and waits for the
// proxy's goroutines to end.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	p.closed = true
	close(p.done)
	p.mu.Unlock()
	err := p.listener.Close()
	p.Reset()
	p.wg.Wait()
	return err
}

func (p *Proxy) snapshot() []*link {
	p.mu.Lock()
	defer p.mu.Unlock()
	links := make([]*link, 0, len(p.conns))
	for l := range p.conns {
		links = append(links, l)
	}
	return links
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.listener.Accept()
		if err != nil {
			return
		}
		client := c.(*net.TCPConn)
		p.mu.Lock()
		reject, closed := p.reject, p.closed
		p.mu.Unlock()
		if reject || closed {
			_ = client.SetLinger(0)
			_ = client.Close()
			continue
		}
		p.wg.Add(1)
		go p.serve(client)
	}
}

// serve dials the target for one client and forwards both directions
// until both have ended.
func (p *Proxy) serve(client *net.TCPConn) {
	defer p.wg.Done()
	s, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		// The client sees the same reset it would get from a target that
		// is down.
		_ = client.SetLinger(0)
		_ = client.Close()
		return
	}
	l := &link{client: client, server: s.(*net.TCPConn)}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		l.reset()
		return
	}
	p.conns[l] = struct{}{}
	p.total++
	p.mu.Unlock()

	var pumps sync.WaitGroup
	pumps.Go(func() { p.pump(Upstream, l.client, l.server) })
	pumps.Go(func() { p.pump(Downstream, l.server, l.client) })
	pumps.Wait()
	l.close()
	p.mu.Lock()
	delete(p.conns, l)
	p.mu.Unlock()
}

// chunk is bytes read in one direction and the time they were read.
type chunk struct {
	data []byte
	read time.Time
}

// pump copies one direction. A reader goroutine stamps each chunk, and
// this goroutine writes it once the direction's delay has passed, so a
// delay adds latency without cutting throughput.
func (p *Proxy) pump(dir Direction, src, dst *net.TCPConn) {
	queue := make(chan chunk, maxQueuedChunks)
	go func() {
		defer close(queue)
		for {
			buf := make([]byte, 32<<10)
			n, err := src.Read(buf)
			if n > 0 {
				queue <- chunk{data: buf[:n], read: time.Now()}
			}
			if err != nil {
				return
			}
		}
	}()
	failed := false
	for c := range queue {
		if failed {
			continue // drain so the reader can see its own error and end
		}
		p.mu.Lock()
		delay, drop := p.delay[dir], p.drop[dir]
		p.mu.Unlock()
		if drop {
			continue
		}
		if !p.wait(time.Until(c.read.Add(delay))) {
			failed = true
			continue
		}
		if _, err := dst.Write(c.data); err != nil {
			// The write side is closed or reset, so the rest is
			// discarded. The other direction carries the target's EOF or
			// reset back to the client.
			failed = true
		}
	}
	if !failed {
		// Pass the end of stream on, as a half-close, so that one
		// direction's EOF does not cut the other.
		_ = dst.CloseWrite()
	}
}

// wait sleeps for d and reports false when the proxy closes first.
func (p *Proxy) wait(d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-p.done:
		return false
	}
}

func (l *link) reset() {
	l.once.Do(func() {
		_ = l.client.SetLinger(0)
		_ = l.server.SetLinger(0)
		_ = l.client.Close()
		_ = l.server.Close()
	})
}

func (l *link) close() {
	l.once.Do(func() {
		_ = l.client.Close()
		_ = l.server.Close()
	})
}
