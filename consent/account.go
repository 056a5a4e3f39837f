package consent

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// TollFreeNumber is one of an account's toll-free sender numbers.
type TollFreeNumber struct {
	// Number is the number in E.164 form, e.g. "+18885550100".
	Number string
	// Greeting reports that calls to the number are answered with a custom
	// greeting naming the business.
	Greeting bool
	// Voicemail reports that callers can leave a voicemail.
	Voicemail bool
}

// Ready reports whether the number may send texts: it must answer calls
// with a custom greeting and take voicemail.
func (n TollFreeNumber) Ready() bool { return n.Greeting && n.Voicemail }

// Account is a business that sends texts through optgate. The daemon builds
// accounts from its configuration.
type Account struct {
	// ID identifies the account in records and audit entries. It must not
	// contain NUL bytes.
	ID string
	// BusinessName names the business in requests and replies.
	BusinessName string
	// TollFree lists the account's toll-free sender numbers. The first
	// ready one is the default sender of opt-in requests and the contact
	// number in replies.
	TollFree []TollFreeNumber
	// Template is the opt-in request template. An empty
	// Template.BusinessName takes BusinessName.
	Template Template
	// Replies are the account's custom reply texts. Empty fields take the
	// default wording.
	Replies ReplyTexts
	// QuietHours blocks texts before 8:00 and from 21:00 in the
	// recipient's local time (47 CFR 64.1200(c)(1)). Default off.
	QuietHours bool
	// TimeZone is the recipient time zone assumed for quiet hours when the
	// recipient's area code does not give one. Default nil: see
	// Engine.CheckMT.
	TimeZone *time.Location
	// Shadow makes the engine decide and count but block nothing for this
	// account. Decisions then carry the reason they would have blocked
	// for.
	Shadow bool
}

// Validate checks the account: an id without NUL bytes, a business name,
// at least one toll-free number, every number a distinct US/CA toll-free
// number in E.164 form, a valid template and valid reply texts.
func (a *Account) Validate() error {
	var errs []error
	switch {
	case a.ID == "":
		errs = append(errs, errors.New("missing id"))
	case strings.IndexByte(a.ID, 0) >= 0:
		errs = append(errs, fmt.Errorf("id %q contains a NUL byte", a.ID))
	}
	if strings.TrimSpace(a.BusinessName) == "" {
		errs = append(errs, errors.New("missing business name"))
	}
	if len(a.TollFree) == 0 {
		errs = append(errs, errors.New("no toll-free numbers"))
	}
	seen := map[string]bool{}
	for _, n := range a.TollFree {
		switch {
		case !IsTollFree(n.Number):
			errs = append(errs, fmt.Errorf("toll-free number %q is not a US/CA toll-free number in E.164 form", n.Number))
		case seen[n.Number]:
			errs = append(errs, fmt.Errorf("toll-free number %s is listed twice", n.Number))
		}
		seen[n.Number] = true
	}
	tmpl := a.RequestTemplate()
	if err := tmpl.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("template: %w", err))
	}
	if err := a.Replies.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("replies: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("account %q: %w", a.ID, err)
	}
	return nil
}

// RequestTemplate returns the account's opt-in request template, with the
// account's business name when the template names none.
func (a *Account) RequestTemplate() Template {
	t := a.Template
	if strings.TrimSpace(t.BusinessName) == "" {
		t.BusinessName = a.BusinessName
	}
	return t
}

// Sender returns the account's entry for the toll-free number, if the
// account owns it.
func (a *Account) Sender(number string) (TollFreeNumber, bool) {
	for _, n := range a.TollFree {
		if n.Number == number {
			return n, true
		}
	}
	return TollFreeNumber{}, false
}

// DefaultSender returns the account's first ready toll-free number.
func (a *Account) DefaultSender() (TollFreeNumber, bool) {
	for _, n := range a.TollFree {
		if n.Ready() {
			return n, true
		}
	}
	return TollFreeNumber{}, false
}

// Accounts looks accounts up for the engine. The daemon implements it from
// its configuration, and AccountSet is a ready-made implementation.
// Implementations must be safe for concurrent use, and the engine never
// modifies a returned account.
type Accounts interface {
	// Account returns the account with the given id.
	Account(id string) (*Account, bool)
	// AccountByTollFree returns the account owning the toll-free number,
	// given in E.164 form.
	AccountByTollFree(number string) (*Account, bool)
}

// AccountSet is a fixed set of accounts, indexed by id and by toll-free
// number.
type AccountSet struct {
	byID       map[string]*Account
	byTollFree map[string]*Account
	ids        []string
}

var _ Accounts = (*AccountSet)(nil)

// NewAccountSet validates the accounts and indexes them. Ids and toll-free
// numbers must be unique across the set.
func NewAccountSet(accounts ...Account) (*AccountSet, error) {
	s := &AccountSet{byID: map[string]*Account{}, byTollFree: map[string]*Account{}}
	for i := range accounts {
		a := accounts[i]
		if err := a.Validate(); err != nil {
			return nil, err
		}
		if _, dup := s.byID[a.ID]; dup {
			return nil, fmt.Errorf("account %q is defined twice", a.ID)
		}
		a.TollFree = append([]TollFreeNumber(nil), a.TollFree...)
		s.byID[a.ID] = &a
		s.ids = append(s.ids, a.ID)
		for _, n := range a.TollFree {
			if other, dup := s.byTollFree[n.Number]; dup {
				return nil, fmt.Errorf("toll-free number %s belongs to accounts %q and %q", n.Number, other.ID, a.ID)
			}
			s.byTollFree[n.Number] = &a
		}
	}
	return s, nil
}

// Account implements Accounts.
func (s *AccountSet) Account(id string) (*Account, bool) {
	a, ok := s.byID[id]
	return a, ok
}

// AccountByTollFree implements Accounts.
func (s *AccountSet) AccountByTollFree(number string) (*Account, bool) {
	a, ok := s.byTollFree[number]
	return a, ok
}

// IDs returns the account ids in the order given to NewAccountSet.
func (s *AccountSet) IDs() []string { return append([]string(nil), s.ids...) }
