package consent

import (
	"errors"
	"fmt"
	"strings"
)

// Reply placeholders, replaced when a reply is rendered.
const (
	PlaceholderBusiness = "{business}" // the account's business name
	PlaceholderNumber   = "{number}"   // the contact number, as "(888) 555-0100"
)

// Default replies. Each names the business, and none carries marketing.
const (
	// DefaultOptOutReply is the one confirmation sent after an opt-out.
	DefaultOptOutReply = "{business}: you are unsubscribed and will get no more messages from us. " +
		"Reply UNSTOP to resubscribe."
	// DefaultHelpReply is the reply to HELP and INFO in every consent state.
	DefaultHelpReply = "{business}: for help, call {number}. " +
		"Reply STOP to opt out or UNSTOP to resubscribe."
	// DefaultOptInReply confirms a YES.
	DefaultOptInReply = "{business}: you are subscribed to our texts. " +
		"Reply HELP for help or STOP to opt out. " + DefaultRatesNotice
	// DefaultResumeReply confirms an UNSTOP or START.
	DefaultResumeReply = "{business}: you are subscribed again and will get our texts. " +
		"Reply STOP to opt out."
)

// maxOptOutReply bounds a custom opt-out confirmation before placeholders
// are filled: one GSM 03.38 segment, so the confirmation stays short.
const maxOptOutReply = 160

// ReplyTexts holds an account's custom replies. An empty field takes its
// default. A custom text may use the placeholders {business} and {number}.
type ReplyTexts struct {
	// OptOut confirms a STOP. It must name the business, explain how to
	// resume with UNSTOP, contain no link and be at most 160 characters.
	// Default: DefaultOptOutReply.
	OptOut string
	// Help is the reply to HELP and INFO. It must name the business, give
	// the contact number and explain how to opt out with STOP. Default:
	// DefaultHelpReply.
	Help string
	// OptIn confirms a YES. It must name the business and explain how to
	// opt out with STOP. Default: DefaultOptInReply.
	OptIn string
	// Resume confirms an UNSTOP or START. It must name the business and
	// explain how to opt out with STOP. Default: DefaultResumeReply.
	Resume string
}

// replyRule lists what a reply of one kind must contain.
type replyRule struct {
	field        string
	placeholders []string
	keyword      string // a keyword the reply must name
	noLinks      bool
	maxLen       int // maximum characters before filling; 0 means maxTemplateField
}

var replyRules = map[Reply]replyRule{
	ReplyOptOut: {"opt_out", []string{PlaceholderBusiness}, "unstop", true, maxOptOutReply},
	ReplyHelp:   {"help", []string{PlaceholderBusiness, PlaceholderNumber}, "stop", false, 0},
	ReplyOptIn:  {"opt_in", []string{PlaceholderBusiness}, "stop", false, 0},
	ReplyResume: {"resume", []string{PlaceholderBusiness}, "stop", false, 0},
}

// text returns the configured or default text of kind.
func (r ReplyTexts) text(kind Reply) string {
	var custom, def string
	switch kind {
	case ReplyOptOut:
		custom, def = r.OptOut, DefaultOptOutReply
	case ReplyHelp:
		custom, def = r.Help, DefaultHelpReply
	case ReplyOptIn:
		custom, def = r.OptIn, DefaultOptInReply
	case ReplyResume:
		custom, def = r.Resume, DefaultResumeReply
	}
	if c := strings.TrimSpace(custom); c != "" {
		return c
	}
	return def
}

// Validate checks each custom reply against the rules on its field and
// rejects placeholders other than {business} and {number}. The error names
// each failing field.
func (r ReplyTexts) Validate() error {
	var errs []error
	for _, kind := range []Reply{ReplyOptOut, ReplyHelp, ReplyOptIn, ReplyResume} {
		if err := validateReply(kind, r.text(kind)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func validateReply(kind Reply, text string) error {
	rule := replyRules[kind]
	limit := rule.maxLen
	if limit == 0 {
		limit = maxTemplateField
	}
	if n := len([]rune(text)); n > limit {
		return fmt.Errorf("%s reply is %d characters long, over the maximum of %d", rule.field, n, limit)
	}
	if err := checkTextField(rule.field+" reply", text); err != nil {
		return err
	}
	for _, p := range rule.placeholders {
		if !strings.Contains(text, p) {
			return fmt.Errorf("%s reply %q lacks the %s placeholder", rule.field, text, p)
		}
	}
	if !containsWord(text, rule.keyword) {
		return fmt.Errorf("%s reply %q does not contain the word %s", rule.field, text, strings.ToUpper(rule.keyword))
	}
	if rule.noLinks && containsLink(text) {
		return fmt.Errorf("%s reply %q contains a link, but an opt-out confirmation must carry no marketing", rule.field, text)
	}
	if p, ok := unknownPlaceholder(text); ok {
		return fmt.Errorf("%s reply %q uses the unknown placeholder %s (want %s or %s)",
			rule.field, text, p, PlaceholderBusiness, PlaceholderNumber)
	}
	return nil
}

// containsLink reports whether text holds a web address.
func containsLink(text string) bool {
	lower := strings.ToLower(text)
	return strings.Contains(lower, "http://") || strings.Contains(lower, "https://") ||
		strings.Contains(lower, "www.")
}

// unknownPlaceholder returns the first "{...}" in text that is not a known
// placeholder.
func unknownPlaceholder(text string) (string, bool) {
	for {
		i := strings.IndexByte(text, '{')
		if i < 0 {
			return "", false
		}
		j := strings.IndexByte(text[i:], '}')
		if j < 0 {
			return text[i:], true
		}
		p := text[i : i+j+1]
		if p != PlaceholderBusiness && p != PlaceholderNumber {
			return p, true
		}
		text = text[i+j+1:]
	}
}

// RenderReply renders the reply of the given kind (any Reply except
// ReplyNone) for an account whose
// business name is business and whose contact number is contact, in E.164
// form (the toll-free number the subscriber wrote to). A NANP contact number
// appears as "(888) 555-0100". It fails when kind is unknown, business is
// blank or has control characters, contact is not E.164, or texts breaks a
// rule listed on ReplyTexts.
func RenderReply(kind Reply, texts ReplyTexts, business, contact string) (Rendered, error) {
	if _, ok := replyRules[kind]; !ok {
		return Rendered{}, fmt.Errorf("consent: render reply: no text for reply kind %s", kind)
	}
	business = strings.TrimSpace(business)
	if business == "" {
		return Rendered{}, fmt.Errorf("consent: render %s reply: missing business name", kind)
	}
	if err := checkTextField("business name", business); err != nil {
		return Rendered{}, fmt.Errorf("consent: render %s reply: %w", kind, err)
	}
	if !isE164(contact) {
		return Rendered{}, fmt.Errorf("consent: render %s reply: contact number %q is not in E.164 form", kind, contact)
	}
	text := texts.text(kind)
	if err := validateReply(kind, text); err != nil {
		return Rendered{}, fmt.Errorf("consent: render %s reply: %w", kind, err)
	}
	filled := strings.NewReplacer(PlaceholderBusiness, business, PlaceholderNumber, formatNANP(contact)).Replace(text)
	return newRendered(filled), nil
}
