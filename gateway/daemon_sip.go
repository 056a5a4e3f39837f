package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/optgate/optgate/config"
)

// SIPFrontEnd is the SIP front end the daemon starts and stops, the
// listeners.sip part of optgate. Package sip implements it. The daemon
// reaches it only through this interface, because package sip imports
// gateway.
type SIPFrontEnd interface {
	// Start opens the listeners. The daemon calls it once the routing
	// core runs.
	Start(ctx context.Context) error
	// Stop rejects new requests and calls, ends the calls in progress,
	// waits for the requests in progress and closes the listeners. ctx
	// bounds the wait.
	Stop(ctx context.Context) error
	// Failed receives the error of a listener that stopped by itself.
	Failed() <-chan error
	// UpdateAccounts applies the accounts of a reloaded configuration. On
	// error the front end keeps the accounts it had.
	UpdateAccounts(accounts []config.Account) error
	// Target returns the Deliverer of an account whose delivery type is
	// sip.
	Targets
	CallOptIn
	// HTTPHandler serves the HTTP API's voicemail and greeting endpoints
	// for the caller that APICallerFrom returns.
	HTTPHandler() http.Handler
	// Addr returns the address of the listener of network "udp", "tcp"
	// or "tls", or nil.
	Addr(network string) net.Addr
	// UploadedGreeting returns the file of the greeting uploaded for a
	// toll-free number in E.164 form, if one was uploaded.
	UploadedGreeting(number string) (path string, ok bool)
}

// CallOptIn sends an opt-in request to the remote party of a SIP call,
// for POST /v1/optin-requests with a call_id.
type CallOptIn interface {
	// RequestOptInForCall sends req to the caller of req.Account's call
	// with Call-ID callID, from req.TollFree or, when it is empty, from
	// the toll-free number the call reached. req.To is ignored. It returns
	// an error wrapping ErrCallNotFound when the account has no such call.
	RequestOptInForCall(ctx context.Context, req OptInRequest, callID string) (OptInResult, error)
}

// ErrCallNotFound is returned by CallOptIn when the account has no call
// in progress with the Call-ID.
var ErrCallNotFound = errors.New("no call in progress with this Call-ID")

// MTSender sends business texts and opt-in requests: the part of
// *MTService the SIP front end uses.
type MTSender interface {
	Submit(ctx context.Context, mt MT) (Result, error)
	RequestOptIn(ctx context.Context, req OptInRequest) (OptInResult, error)
}

// SIPDeps holds the services and settings the daemon passes to
// DaemonOptions.SIP.
type SIPDeps struct {
	// Config is the configuration the daemon starts with: listeners.sip,
	// the accounts and logging.mask_numbers.
	Config *config.Config
	// MT sends through the current generation's MT service, so it stays
	// valid across reloads.
	MT MTSender
	// Logger is the daemon's root logger.
	Logger *zap.Logger
	// Registerer gets the front end's collectors.
	Registerer prometheus.Registerer
	// DataDir is the directory of the gateway store. The front end keeps
	// voicemails and uploaded greetings under it.
	DataDir string
}

// currentMT is the MTSender of SIPDeps: it calls the MT service of the
// generation current at each call, which Reload replaces.
type currentMT struct{ d *Daemon }

func (m currentMT) service() (*MTService, error) {
	g := m.d.gen.Load()
	if g == nil || g.core == nil {
		return nil, newError(CodeInternal, errors.New("daemon: routing core not started"))
	}
	return g.core.MT, nil
}

// Submit implements MTSender.
func (m currentMT) Submit(ctx context.Context, mt MT) (Result, error) {
	s, err := m.service()
	if err != nil {
		return Result{}, err
	}
	return s.Submit(ctx, mt)
}

// RequestOptIn implements MTSender.
func (m currentMT) RequestOptIn(ctx context.Context, req OptInRequest) (OptInResult, error) {
	s, err := m.service()
	if err != nil {
		return OptInResult{}, err
	}
	return s.RequestOptIn(ctx, req)
}

// newSIP builds the SIP front end when listeners.sip is enabled and
// DaemonOptions.SIP is set. It starts nothing.
func (d *Daemon) newSIP(cfg *config.Config) error {
	if !cfg.Listeners.SIP.Enabled || d.opts.SIP == nil {
		return nil
	}
	fe, err := d.opts.SIP(SIPDeps{
		Config:     cfg,
		MT:         currentMT{d: d},
		Logger:     d.root,
		Registerer: d.prom,
		DataDir:    filepath.Dir(gatewayStorePath(cfg, d.opts.GatewayStorePath)),
	})
	if err != nil {
		return fmt.Errorf("daemon: sip: %w", err)
	}
	d.sip = fe
	return nil
}

// sipTargets returns the front end as the sipTargets of AccountTargets,
// or nil without one.
func (d *Daemon) sipTargets() Targets {
	if d.sip == nil {
		return nil
	}
	return d.sip
}

// sipCalls returns the front end as the HTTP API's CallOptIn, or nil.
func (d *Daemon) sipCalls() CallOptIn {
	if d.sip == nil {
		return nil
	}
	return d.sip
}

// sipHandler returns the front end's HTTP handler, or nil.
func (d *Daemon) sipHandler() http.Handler {
	if d.sip == nil {
		return nil
	}
	return d.sip.HTTPHandler()
}

// startSIP starts the front end and forwards a listener failure to
// Failed, as the daemon's own listeners do.
func (d *Daemon) startSIP(ctx context.Context) error {
	if d.sip == nil {
		return nil
	}
	if err := d.sip.Start(ctx); err != nil {
		return fmt.Errorf("daemon: sip: %w", err)
	}
	failed := d.sip.Failed()
	d.wg.Go(func() {
		select {
		case err := <-failed:
			// The front end logged it already.
			select {
			case d.failed <- err:
			default:
			}
		case <-d.stopping:
		}
	})
	return nil
}

// stopSIP stops the front end. The daemon calls it in the drain phase,
// so SIP requests in progress finish while the carriers are still bound.
func (d *Daemon) stopSIP(ctx context.Context) error {
	if d.sip == nil {
		return nil
	}
	return d.sip.Stop(ctx)
}

// withUploadedGreetings returns the accounts with the greeting file of
// every toll-free number that has an uploaded greeting replaced by the
// upload, which takes precedence over the configured file. A number
// whose only greeting is an upload is then ready too. accounts is not
// changed.
//
// TODO: an upload counts toward readiness only from the next start or
// reload, because only they rebuild the registry; calls play it at once.
func (d *Daemon) withUploadedGreetings(accounts []config.Account) []config.Account {
	if d.sip == nil {
		return accounts
	}
	out := slices.Clone(accounts)
	for i := range out {
		numbers := slices.Clone(out[i].TollFree)
		for j := range numbers {
			if path, ok := d.sip.UploadedGreeting(numbers[j].Number); ok {
				numbers[j].Greeting = path
			}
		}
		out[i].TollFree = numbers
	}
	return out
}

// sipListenFields returns the log fields of the SIP listeners.
func (d *Daemon) sipListenFields() []zap.Field {
	if d.sip == nil {
		return nil
	}
	var fields []zap.Field
	for _, n := range []string{"udp", "tcp", "tls"} {
		if a := d.sip.Addr(n); a != nil {
			fields = append(fields, zap.Stringer("sip_"+n+"_addr", a))
		}
	}
	return fields
}

// SIPAddr returns the address of the SIP listener of network "udp", "tcp"
// or "tls", or nil when the daemon serves no SIP on it.
func (d *Daemon) SIPAddr(network string) net.Addr {
	if d.sip == nil {
		return nil
	}
	return d.sip.Addr(network)
}

// registryWithUploads returns the registry of cfg's accounts with their
// uploaded greetings applied, or registry itself when the daemon serves no
// SIP.
func (d *Daemon) registryWithUploads(cfg *config.Config, registry *Registry) (*Registry, error) {
	if d.sip == nil {
		return registry, nil
	}
	r, err := NewRegistry(d.withUploadedGreetings(cfg.Accounts), RegistryOptions{Now: d.opts.Now})
	if err != nil {
		return nil, fmt.Errorf("daemon: %w", err)
	}
	return r, nil
}
