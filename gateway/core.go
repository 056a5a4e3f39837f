package gateway

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/consent"
)

// CoreConfig holds what NewCore wires together.
type CoreConfig struct {
	Registry *Registry
	Router   *Router
	// Engine must use Registry as its consent.Accounts.
	Engine *consent.Engine
	Store  Store
	Links  CarrierLinks
	// Targets returns the Deliverer of each account queue; ReplyQueue is
	// served by the core itself. See AccountTargets.
	Targets Targets
	Metrics *Metrics
	// Logger is the root logger; each service gets a named child.
	// Default zap.NewNop().
	Logger *zap.Logger
	// MaskNumbers masks subscriber numbers in logs.
	MaskNumbers bool
	// Dispatcher, Sweeper and the services take their remaining settings
	// from these; zero values use each one's defaults.
	Dispatch DispatcherConfig
	Sweep    SweeperConfig
	// KeepUnmatched is ReceiptConfig.KeepUnmatched.
	KeepUnmatched time.Duration
	// MessageTTL is MTConfig.MessageTTL.
	MessageTTL time.Duration
	// KeepAfterFinal is MTConfig.KeepAfterFinal and
	// ReceiptConfig.KeepAfterFinal.
	KeepAfterFinal time.Duration
	// OnBlock is MTConfig.OnBlock. Default nil: blocks are only counted.
	OnBlock func(Block)
}

// Core is the wired routing core: the services, the dispatcher that
// drains the queues and the sweeper.
type Core struct {
	MT         *MTService
	MO         *MOService
	Receipts   *ReceiptService
	Dispatcher *Dispatcher
	Sweeper    *Sweeper
}

// NewCore builds the services. It starts nothing and does no I/O.
func NewCore(cfg CoreConfig) (*Core, error) {
	if cfg.Targets == nil {
		return nil, errors.New("core: targets are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	c := &Core{}
	notify := func(queue string) {
		if c.Dispatcher != nil {
			c.Dispatcher.Notify(queue)
		}
	}
	var err error
	c.Receipts, err = NewReceiptService(ReceiptConfig{
		Router: cfg.Router, Store: cfg.Store, Notify: notify, Metrics: cfg.Metrics,
		Logger: cfg.Logger.Named("receipts"), KeepUnmatched: cfg.KeepUnmatched,
		KeepAfterFinal: cfg.KeepAfterFinal,
	})
	if err != nil {
		return nil, fmt.Errorf("core: %w", err)
	}

	c.MT, err = NewMTService(MTConfig{
		Registry: cfg.Registry, Router: cfg.Router, Links: cfg.Links, Engine: cfg.Engine, Store: cfg.Store,
		Receipts: c.Receipts, Notify: notify, Metrics: cfg.Metrics, Logger: cfg.Logger.Named("mt"),
		MaskNumbers: cfg.MaskNumbers, MessageTTL: cfg.MessageTTL, KeepAfterFinal: cfg.KeepAfterFinal,
		OnBlock: cfg.OnBlock,
	})
	if err != nil {
		return nil, fmt.Errorf("core: %w", err)
	}
	c.MO, err = NewMOService(MOConfig{
		Registry: cfg.Registry, Router: cfg.Router, Engine: cfg.Engine, Store: cfg.Store, Receipts: c.Receipts,
		Notify: notify, Metrics: cfg.Metrics, Logger: cfg.Logger.Named("mo"), MaskNumbers: cfg.MaskNumbers,
	})
	if err != nil {
		return nil, fmt.Errorf("core: %w", err)
	}

	replies := ReplyDeliverer(c.MT)
	dispatch := cfg.Dispatch
	dispatch.Queue, dispatch.Metrics = cfg.Store, cfg.Metrics
	dispatch.Logger = cfg.Logger.Named("delivery")
	dispatch.Targets = TargetFunc(func(queue string) (Deliverer, bool) {
		if queue == ReplyQueue {
			return replies, true
		}
		return cfg.Targets.Target(queue)
	})
	if c.Dispatcher, err = NewDispatcher(dispatch); err != nil {
		return nil, fmt.Errorf("core: %w", err)
	}

	sweep := cfg.Sweep
	sweep.Store, sweep.MO, sweep.Receipts, sweep.Metrics = cfg.Store, c.MO, c.Receipts, cfg.Metrics
	sweep.Logger = cfg.Logger.Named("sweep")
	if c.Sweeper, err = NewSweeper(sweep); err != nil {
		return nil, fmt.Errorf("core: %w", err)
	}
	return c, nil
}

// Start starts the dispatcher, with a worker for every account and for
// the replies, and the sweeper.
func (c *Core) Start(ctx context.Context, accounts []string) error {
	if err := c.Dispatcher.Start(ctx, append([]string{ReplyQueue}, accounts...)...); err != nil {
		return err
	}
	c.Sweeper.Start(ctx)
	return nil
}

// Stop stops the sweeper and the dispatcher and waits for them, or until
// ctx ends.
func (c *Core) Stop(ctx context.Context) error {
	return errors.Join(c.Sweeper.Stop(ctx), c.Dispatcher.Stop(ctx))
}

// AccountTargets returns the Targets of the account queues: a Webhook for
// accounts whose delivery type is webhook, smpp for type smpp and sip for
// type sip. smpp and sip may be nil when no account uses them.
func AccountTargets(reg *Registry, smppTargets, sipTargets Targets) (Targets, error) {
	webhooks := map[string]*Webhook{}
	for _, id := range reg.IDs() {
		a, _ := reg.Settings(id)
		if a.Delivery.Type != config.DeliveryWebhook {
			continue
		}
		w, err := NewWebhook(WebhookConfig{URL: a.Delivery.URL, Secret: a.Delivery.Secret})
		if err != nil {
			return nil, fmt.Errorf("account %s: %w", id, err)
		}
		webhooks[id] = w
	}
	return TargetFunc(func(queue string) (Deliverer, bool) {
		a, ok := reg.Settings(queue)
		if !ok {
			return nil, false
		}
		switch a.Delivery.Type {
		case config.DeliveryWebhook:
			return webhooks[queue], true
		case config.DeliverySIP:
			if sipTargets != nil {
				return sipTargets.Target(queue)
			}
		default:
			if smppTargets != nil {
				return smppTargets.Target(queue)
			}
		}
		return nil, false
	}), nil
}
