package gateway

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/consent"
)

// ReceiptPolicy chooses which segment's receipt stands for a message sent
// in several segments.
type ReceiptPolicy uint8

// Receipt policies. The zero value is ReceiptWorst, the configuration's
// default.
const (
	// ReceiptWorst reports DELIVRD once every segment is delivered, and
	// otherwise the first segment to end in another final state, as soon
	// as it does.
	ReceiptWorst ReceiptPolicy = iota
	// ReceiptFirst reports the receipts of segment 1.
	ReceiptFirst
	// ReceiptLast reports the receipts of the last segment.
	ReceiptLast
	// ReceiptAll reports every segment's receipts, each with the segment
	// number.
	ReceiptAll
)

var receiptPolicyNames = [...]string{"worst", "first", "last", "all"}

// String returns the configuration name of the policy.
func (p ReceiptPolicy) String() string {
	if int(p) < len(receiptPolicyNames) {
		return receiptPolicyNames[p]
	}
	return fmt.Sprintf("ReceiptPolicy(%d)", uint8(p))
}

// ParseReceiptPolicy reads first, last, all or worst. An empty string is
// worst.
func ParseReceiptPolicy(s string) (ReceiptPolicy, error) {
	if s == "" {
		return ReceiptWorst, nil
	}
	for i, name := range receiptPolicyNames {
		if name == s {
			return ReceiptPolicy(i), nil
		}
	}
	return 0, fmt.Errorf("unknown receipt policy %q (want first, last, all or worst)", s)
}

// Account is the gateway's view of one configured account.
type Account struct {
	// ID identifies the account.
	ID string
	// Consent is the account in the consent engine's form.
	Consent *consent.Account
	// ReceiptPolicy applies to messages sent in several segments.
	ReceiptPolicy ReceiptPolicy
	// BlockedReceipts makes Submit report a permanent consent block to an
	// SMPP business as a message id and a REJECTD receipt, instead of an
	// error status.
	BlockedReceipts bool
	// Delivery is the destination of MO texts and receipts for the account.
	Delivery config.Delivery
}

// ESMEIdentity is a business ESME that passed authentication.
type ESMEIdentity struct {
	Account  string
	SystemID string
	// MaxBinds is how many sessions may be bound with the credentials.
	MaxBinds int
}

// TokenIdentity is an HTTP API token that passed authentication.
type TokenIdentity struct {
	Account string
	// Name names the token in logs.
	Name string
}

// ErrAuthFailed is returned for unknown credentials and wrong secrets
// alike, so a caller cannot tell which part was wrong.
var ErrAuthFailed = errors.New("gateway: authentication failed")

// RegistryOptions configures NewRegistry. The zero value uses the defaults.
type RegistryOptions struct {
	// CacheTTL is how long a verified credential is accepted without
	// running bcrypt again. Default 10m.
	CacheTTL time.Duration
	// CacheSize bounds the verified-credential cache. Default 10000.
	CacheSize int
	// Now returns the current time. Default time.Now.
	Now func() time.Time
}

// Registry holds the configured accounts. It implements consent.Accounts
// and authenticates ESME binds and API tokens. It is immutable after
// NewRegistry, apart from its credential cache, and safe for concurrent
// use; a configuration reload builds a new Registry.
type Registry struct {
	set      *consent.AccountSet
	byID     map[string]*Account
	ids      []string
	esmes    map[string]esmeEntry
	tokens   []tokenEntry
	warnings []string

	opts  RegistryOptions
	salt  [16]byte
	dummy []byte // a bcrypt hash compared when a system_id is unknown

	mu       sync.Mutex
	verified map[[32]byte]verifiedEntry
	rejected map[[32]byte]time.Time
}

type esmeEntry struct {
	account  string
	hash     []byte
	maxBinds int
}

type tokenEntry struct {
	account, name string
	hash          []byte
}

type verifiedEntry struct {
	expires time.Time
	esme    ESMEIdentity
	token   TokenIdentity
}

var _ consent.Accounts = (*Registry)(nil)

// rejectedTTL is how long an unknown API token is rejected from the
// cache. Every new token costs one bcrypt run per configured token, so
// repeated wrong tokens must not.
const rejectedTTL = time.Minute

// NewRegistry builds the registry from validated configuration accounts.
// Account texts that the consent engine cannot use are replaced by its
// default wording and reported in Warnings; other problems fail.
func NewRegistry(accounts []config.Account, opts RegistryOptions) (*Registry, error) {
	if opts.CacheTTL <= 0 {
		opts.CacheTTL = 10 * time.Minute
	}
	if opts.CacheSize <= 0 {
		opts.CacheSize = 10000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	r := &Registry{
		byID:     map[string]*Account{},
		esmes:    map[string]esmeEntry{},
		opts:     opts,
		verified: map[[32]byte]verifiedEntry{},
		rejected: map[[32]byte]time.Time{},
	}
	if _, err := rand.Read(r.salt[:]); err != nil {
		return nil, fmt.Errorf("registry: random salt: %w", err)
	}

	consentAccounts := make([]consent.Account, 0, len(accounts))
	for _, a := range accounts {
		ca, warnings := consentAccount(a)
		r.warnings = append(r.warnings, warnings...)
		consentAccounts = append(consentAccounts, ca)
		if err := r.addCredentials(a); err != nil {
			return nil, err
		}
	}
	if err := r.makeDummyHash(); err != nil {
		return nil, err
	}
	set, err := consent.NewAccountSet(consentAccounts...)
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	r.set = set
	for _, a := range accounts {
		policy, err := ParseReceiptPolicy(a.ReceiptPolicy)
		if err != nil {
			return nil, fmt.Errorf("registry: account %q: %w", a.ID, err)
		}
		ca, _ := set.Account(a.ID)
		r.byID[a.ID] = &Account{
			ID:              a.ID,
			Consent:         ca,
			ReceiptPolicy:   policy,
			BlockedReceipts: a.BlockedReceipts,
			Delivery:        a.Delivery,
		}
		r.ids = append(r.ids, a.ID)
	}
	return r, nil
}

// addCredentials indexes the account's ESME credentials and API tokens.
func (r *Registry) addCredentials(a config.Account) error {
	for _, e := range a.ESMEs {
		if _, dup := r.esmes[e.SystemID]; dup {
			return fmt.Errorf("registry: system_id %q is used by two ESME credentials", e.SystemID)
		}
		if _, err := bcrypt.Cost([]byte(e.PasswordHash)); err != nil {
			return fmt.Errorf("registry: account %q: esme %q: password_hash: %w", a.ID, e.SystemID, err)
		}
		r.esmes[e.SystemID] = esmeEntry{account: a.ID, hash: []byte(e.PasswordHash), maxBinds: max(e.MaxBinds, 1)}
	}
	for _, t := range a.APITokens {
		if _, err := bcrypt.Cost([]byte(t.Hash)); err != nil {
			return fmt.Errorf("registry: account %q: api token %q: hash: %w", a.ID, t.Name, err)
		}
		r.tokens = append(r.tokens, tokenEntry{account: a.ID, name: t.Name, hash: []byte(t.Hash)})
	}
	return nil
}

// bcryptBase64 is the base64 alphabet of bcrypt hashes, which differs from
// the one of RFC 4648.
var bcryptBase64 = base64.NewEncoding("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789").
	WithPadding(base64.NoPadding)

// makeDummyHash makes the hash compared for an unknown system_id, with the
// highest cost of the configured ESME hashes, so that an unknown system_id
// takes as long to reject as a wrong password. The hash is a random salt
// and digest in bcrypt's format ($2a$, cost, 22 characters of salt, 31 of
// digest), not the hash of a password. A comparison with it costs the same,
// and it takes no time to make, while hashing a password at cost 10 took
// 70 to 440 ms at each start and reload on a loaded 2-core machine.
func (r *Registry) makeDummyHash() error {
	cost := 0
	for _, e := range r.esmes {
		c, _ := bcrypt.Cost(e.hash)
		cost = max(cost, c)
	}
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	var salt [16]byte
	var digest [23]byte
	_, _ = rand.Read(salt[:]) // crypto/rand.Read never returns an error since Go 1.24.
	_, _ = rand.Read(digest[:])
	r.dummy = fmt.Appendf(nil, "$2a$%02d$%s%s", cost,
		bcryptBase64.EncodeToString(salt[:]), bcryptBase64.EncodeToString(digest[:]))
	return nil
}

// consentAccount converts a configuration account. The configuration's
// templates use {business_name}, {number}, {contact_number}, {website} and
// {details}. The engine supports {business} and {number}, so the others
// are filled in here.
func consentAccount(a config.Account) (consent.Account, []string) {
	var warnings []string
	ca := consent.Account{
		ID:           a.ID,
		BusinessName: a.BusinessName,
		QuietHours:   a.QuietHours,
		Shadow:       a.Shadow,
		Template: consent.Template{
			BusinessName: a.BusinessName,
			Website:      a.Website,
			Details:      a.Details,
		},
	}
	for _, n := range a.TollFree {
		ca.TollFree = append(ca.TollFree, consent.TollFreeNumber{
			Number:    n.Number,
			Greeting:  n.Greeting != "",
			Voicemail: n.Voicemail.Enabled,
		})
	}
	if err := ca.Template.Validate(); err != nil {
		warnings = append(warnings, fmt.Sprintf("account %s: website or details dropped from opt-in requests: %v", a.ID, err))
		ca.Template.Website, ca.Template.Details = "", ""
	}
	if a.Templates.OptInRequest != "" {
		// TODO: the engine renders opt-in requests from structured parts, so a free-form opt_in_request template is not used yet.
		warnings = append(warnings, fmt.Sprintf("account %s: templates.opt_in_request is not supported yet; "+
			"opt-in requests use the built-in wording with the business name, website and details", a.ID))
	}

	// NOTE: {contact_number} becomes the toll-free number the subscriber
	// wrote to, because the engine fills the contact itself.
	fill := strings.NewReplacer(
		"{"+config.PlaceholderBusinessName+"}", consent.PlaceholderBusiness,
		"{"+config.PlaceholderNumber+"}", consent.PlaceholderNumber,
		"{"+config.PlaceholderContactNumber+"}", consent.PlaceholderNumber,
		"{"+config.PlaceholderWebsite+"}", a.Website,
		"{"+config.PlaceholderDetails+"}", a.Details,
	)
	replies := []struct {
		name string
		text string
		set  func(*consent.ReplyTexts, string)
	}{
		{"opt_in_confirmation", a.Templates.OptInConfirmation, func(t *consent.ReplyTexts, s string) { t.OptIn = s }},
		{"opt_out_confirmation", a.Templates.OptOutConfirmation, func(t *consent.ReplyTexts, s string) { t.OptOut = s }},
		{"help", a.Templates.Help, func(t *consent.ReplyTexts, s string) { t.Help = s }},
	}
	for _, reply := range replies {
		if strings.TrimSpace(reply.text) == "" {
			continue
		}
		var one consent.ReplyTexts
		reply.set(&one, fill.Replace(reply.text))
		if err := one.Validate(); err != nil {
			warnings = append(warnings, fmt.Sprintf("account %s: templates.%s replaced by the built-in wording: %v",
				a.ID, reply.name, err))
			continue
		}
		reply.set(&ca.Replies, fill.Replace(reply.text))
	}
	return ca, warnings
}

// Warnings returns the configuration texts NewRegistry could not use.
func (r *Registry) Warnings() []string { return r.warnings }

// Account implements consent.Accounts.
func (r *Registry) Account(id string) (*consent.Account, bool) { return r.set.Account(id) }

// AccountByTollFree implements consent.Accounts.
func (r *Registry) AccountByTollFree(number string) (*consent.Account, bool) {
	return r.set.AccountByTollFree(number)
}

// Settings returns the gateway settings of the account.
func (r *Registry) Settings(id string) (*Account, bool) {
	a, ok := r.byID[id]
	return a, ok
}

// IDs returns the account ids in configuration order.
func (r *Registry) IDs() []string { return append([]string(nil), r.ids...) }

// AuthenticateESME checks a bind's system_id and password. It runs bcrypt
// only when the pair is not in the verified cache, and runs it against a
// dummy hash for an unknown system_id, so a rejection takes as long either
// way. It returns ErrAuthFailed for any mismatch.
func (r *Registry) AuthenticateESME(systemID, password string) (ESMEIdentity, error) {
	key := r.digest("esme", systemID, password)
	if v, ok := r.cached(key); ok {
		return v.esme, nil
	}
	entry, known := r.esmes[systemID]
	hash := r.dummy
	if known {
		hash = entry.hash
	}
	if !r.compare(hash, password) || !known {
		return ESMEIdentity{}, ErrAuthFailed
	}
	id := ESMEIdentity{Account: entry.account, SystemID: systemID, MaxBinds: entry.maxBinds}
	r.remember(key, verifiedEntry{esme: id})
	return id, nil
}

// AuthenticateToken checks an HTTP API bearer token. Tokens carry no
// account name, so a token missing from the cache is compared with every
// configured hash. An unknown token is then remembered for a minute.
func (r *Registry) AuthenticateToken(token string) (TokenIdentity, error) {
	if token == "" {
		return TokenIdentity{}, ErrAuthFailed
	}
	key := r.digest("token", "", token)
	if v, ok := r.cached(key); ok {
		return v.token, nil
	}
	if r.recentlyRejected(key) {
		return TokenIdentity{}, ErrAuthFailed
	}
	for _, t := range r.tokens {
		if r.compare(t.hash, token) {
			id := TokenIdentity{Account: t.account, Name: t.name}
			r.remember(key, verifiedEntry{token: id})
			return id, nil
		}
	}
	r.reject(key)
	return TokenIdentity{}, ErrAuthFailed
}

// digest keys the caches. The salt is random per registry, so the cache
// holds nothing a dump of memory could reverse into a secret cheaply.
func (r *Registry) digest(kind, id, secret string) [32]byte {
	h := sha256.New()
	h.Write(r.salt[:])
	h.Write([]byte(kind))
	h.Write([]byte{0})
	h.Write([]byte(id))
	h.Write([]byte{0})
	h.Write([]byte(secret))
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// compare runs bcrypt in one of the process's bcryptSlots.
func (r *Registry) compare(hash []byte, secret string) bool {
	return compareBcrypt(hash, secret)
}

// cached returns a verified entry. The map lookup by digest is not
// constant time, but the digest is salted with a secret random value, so
// its timing reveals nothing about the password or token.
func (r *Registry) cached(key [32]byte) (verifiedEntry, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.verified[key]
	if !ok {
		return verifiedEntry{}, false
	}
	if r.opts.Now().After(v.expires) {
		delete(r.verified, key)
		return verifiedEntry{}, false
	}
	return v, true
}

func (r *Registry) remember(key [32]byte, v verifiedEntry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v.expires = r.opts.Now().Add(r.opts.CacheTTL)
	evictOne(r.verified, r.opts.CacheSize)
	r.verified[key] = v
	delete(r.rejected, key)
}

func (r *Registry) recentlyRejected(key [32]byte) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	until, ok := r.rejected[key]
	return ok && r.opts.Now().Before(until)
}

func (r *Registry) reject(key [32]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	evictOne(r.rejected, r.opts.CacheSize)
	r.rejected[key] = r.opts.Now().Add(rejectedTTL)
}

// evictOne removes an arbitrary entry when m holds limit entries.
func evictOne[V any](m map[[32]byte]V, limit int) {
	if len(m) < limit {
		return
	}
	for k := range m {
		delete(m, k)
		return
	}
}
