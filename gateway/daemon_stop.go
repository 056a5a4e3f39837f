package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/optgate/optgate/config"
)

// Stop stops the daemon in phases, each logged with its duration:
//
//  1. stop accepting: the SMPP and HTTP listeners close, so no bind or
//     request starts;
//  2. drain the business side: submits, HTTP and SIP requests in flight
//     get their responses, which wait for the carriers, then every
//     business session is unbound. New SIP requests get 503, SIP calls end
//     (a voicemail being recorded is kept) and the SIP listeners close;
//  3. unbind the carriers: their submits in flight get their responses,
//     their deliver_sm handlers finish, the binds unbind and the built-in
//     simulator stops;
//  4. stop the dispatcher and the sweeper; undelivered items stay queued;
//  5. close the stores.
//
// ctx bounds the whole stop. A phase that ctx cuts short closes what it
// has left at once, and Stop returns the phases' errors. Stop is safe to
// call more than once; later calls return nil.
func (d *Daemon) Stop(ctx context.Context) error {
	d.mu.Lock()
	if d.state == stateStopped {
		d.mu.Unlock()
		return nil
	}
	started := d.state == stateRunning
	d.state = stateStopped
	close(d.stopping)
	d.mu.Unlock()
	if !started {
		return nil
	}

	begin := time.Now()
	var errs []error
	phase := func(name string, f func() error) {
		t := time.Now()
		err := f()
		fields := []zap.Field{zap.String("phase", name), zap.Duration("duration", time.Since(t))}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			d.log.Warn("stop phase cut short", append(fields, zap.Error(err))...)
			return
		}
		d.log.Info("stop phase done", fields...)
	}
	d.log.Info("stopping")
	phase("stop accepting binds and requests", d.closeListeners)
	phase("drain business requests and unbind businesses", func() error { return d.drainFrontEnds(ctx) })
	phase("unbind carriers", func() error { return d.stopCarriers(ctx) })
	phase("stop dispatcher", func() error { return d.stopCore(ctx) })
	phase("close stores", d.closeStores)

	d.runCancel()
	d.wg.Wait()
	d.log.Info("stopped", zap.Duration("duration", time.Since(begin)))
	return errors.Join(errs...)
}

func (d *Daemon) closeListeners() error {
	var errs []error
	for _, l := range []interface{ Close() error }{d.smppListener, d.httpListener} {
		if l == nil {
			continue
		}
		if err := l.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// drainFrontEnds shuts the business SMPP server, the HTTP server and the
// SIP front end down side by side.
func (d *Daemon) drainFrontEnds(ctx context.Context) error {
	var smppErr, httpErr, sipErr error
	var wg sync.WaitGroup
	wg.Go(func() { sipErr = d.stopSIP(ctx) })
	wg.Go(func() {
		if smppErr = d.esme.Shutdown(ctx); smppErr != nil {
			_ = d.esme.Close()
		}
	})
	if d.httpServer != nil {
		wg.Go(func() {
			// Shutdown closes the listener again, which closeListeners
			// already closed.
			httpErr = d.httpServer.Shutdown(ctx)
			if errors.Is(httpErr, net.ErrClosed) {
				httpErr = nil
			}
			if httpErr != nil {
				_ = d.httpServer.Close()
			}
		})
	}
	wg.Wait()
	return errors.Join(smppErr, httpErr, sipErr)
}

func (d *Daemon) stopCarriers(ctx context.Context) error {
	err := d.carriers.Stop(ctx)
	if d.sim != nil {
		if simErr := d.sim.Shutdown(ctx); simErr != nil {
			err = errors.Join(err, fmt.Errorf("simulator: %w", simErr))
		}
	}
	return err
}

// stopCore stops the dispatcher and sweeper of the current generation. It
// holds the reload lock, so a reload cannot start a new dispatcher after
// this one stopped.
func (d *Daemon) stopCore(ctx context.Context) error {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	if !d.coreStarted {
		return nil
	}
	d.coreStarted = false
	return d.gen.Load().core.Stop(ctx)
}

func (d *Daemon) closeStores() error {
	var errs []error
	if d.store != nil {
		errs = append(errs, d.store.Close())
	}
	if d.consentStore != nil {
		errs = append(errs, d.consentStore.Close())
	}
	return errors.Join(errs...)
}

// reloadStopTimeout bounds the wait for the old dispatcher at a reload. The
// context of a delivery in flight is cancelled, so the wait is short.
const reloadStopTimeout = 30 * time.Second

// Reload applies the configuration that DaemonOptions.Load returns to the
// accounts: credentials, toll-free numbers, templates, delivery, receipt
// policy, consent settings and keywords. Business and carrier sessions stay
// bound; requests in flight finish with the settings they started with,
// and new ones use the new settings. Changes to listeners, the store,
// carriers, logging or the operator token are logged and take effect only
// after a restart. On
// error the running configuration stays in use.
func (d *Daemon) Reload(ctx context.Context) error {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	d.mu.Lock()
	running := d.state == stateRunning && d.coreStarted
	d.mu.Unlock()
	if !running {
		return errors.New("daemon: reload: the daemon is not running")
	}
	if d.opts.Load == nil {
		return errors.New("daemon: reload: no configuration source; start optgate with a configuration file")
	}

	begin := time.Now()
	cfg, err := d.opts.Load()
	if err != nil {
		return fmt.Errorf("daemon: reload: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("daemon: reload: %w", err)
	}
	old := d.gen.Load()
	registry, err := NewRegistry(d.withUploadedGreetings(cfg.Accounts), RegistryOptions{Now: d.opts.Now})
	if err != nil {
		return fmt.Errorf("daemon: reload: %w", err)
	}
	next, err := d.buildGeneration(cfg, registry)
	if err != nil {
		return fmt.Errorf("daemon: reload: %w", err)
	}
	if d.sip != nil {
		// The SIP front end takes the new accounts first, so that the new
		// dispatcher finds the new SIP delivery targets.
		if err := d.sip.UpdateAccounts(cfg.Accounts); err != nil {
			return fmt.Errorf("daemon: reload: %w", err)
		}
	}
	d.warnRestartOnly(old.cfg, cfg)

	// New requests take the new generation at once. The old dispatcher
	// stops before the new one starts, so each queue keeps one worker and
	// its order. The new one finds the items queued in between when it
	// starts.
	d.gen.Store(next)
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reloadStopTimeout)
	defer cancel()
	if err := old.core.Stop(stopCtx); err != nil {
		d.log.Error("old dispatcher did not stop in time at reload", zap.Error(err))
	}
	if err := next.core.Start(d.runCtx, registry.IDs()); err != nil {
		return fmt.Errorf("daemon: reload: %w", err)
	}
	if d.api != nil {
		services := HTTPServices{Registry: registry, MT: next.core.MT, Engine: next.engine, Router: d.router,
			Calls: d.sipCalls()}
		err := d.api.SetServices(services)
		if err != nil {
			return fmt.Errorf("daemon: reload: %w", err)
		}
	}
	d.log.Info("configuration reloaded",
		zap.Int("accounts", len(cfg.Accounts)),
		zap.Duration("duration", time.Since(begin)))
	return nil
}

// warnRestartOnly logs the sections of next that differ from the running
// configuration but are not reloaded.
func (d *Daemon) warnRestartOnly(running, next *config.Config) {
	sections := []struct {
		name string
		a, b any
	}{
		{"listeners", running.Listeners, next.Listeners},
		{"store", running.Store, next.Store},
		{"carriers", running.Carriers, next.Carriers},
		{"logging", running.Logging, next.Logging},
		{"operator", running.Operator, next.Operator},
	}
	for _, s := range sections {
		if !reflect.DeepEqual(s.a, s.b) {
			d.log.Warn("configuration section changed; it takes effect after a restart",
				zap.String("section", s.name))
		}
	}
}
