package consent

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/optgate/optgate/smpp"
)

// Default wordings of an opt-in request. Each is one sentence, and
// RenderRequest joins the parts with spaces.
const (
	// DefaultRatesNotice is the notice that the subscriber's carrier may
	// charge for the texts.
	DefaultRatesNotice = "Your carrier's message and data rates may apply."
	// DefaultOptInWording is the instruction for giving consent.
	DefaultOptInWording = "Reply YES to agree."
	// DefaultOptOutWording is the instruction for refusing or opting out.
	DefaultOptOutWording = "Reply STOP to opt out."
)

// maxTemplateField bounds each template field, so that a mistaken
// configuration value cannot turn one request into dozens of SMS segments.
const maxTemplateField = 300

// Template is the opt-in request of one account. A request always carries
// the business name, the toll-free number it is sent from, how to reply YES
// and STOP, and a rates notice. The website and details are optional.
type Template struct {
	// BusinessName names the business. Required.
	BusinessName string
	// Website is shown as given, for example "acme.example". Optional.
	Website string
	// Details describes what the texts are about and how often they come,
	// for example "Appointment reminders, about 2 texts a month." Optional.
	Details string
	// RatesNotice is the notice that message and data rates may apply. It
	// must contain the word "rates" or "rate". Default (when empty or
	// blank): DefaultRatesNotice.
	RatesNotice string
	// OptInWording is the instruction for opting in. It must contain the
	// word YES. Default: DefaultOptInWording.
	OptInWording string
	// OptOutWording is the instruction for opting out. It must contain the
	// word STOP. Default: DefaultOptOutWording.
	OptOutWording string
}

// Validate checks the template. The business name is required, every field
// must be at most 300 characters without control characters, the website
// must not contain spaces, custom wordings must name the YES and STOP
// keywords, and a custom rates notice must speak of rates. The error names
// each failing field.
func (t Template) Validate() error {
	var errs []error
	if strings.TrimSpace(t.BusinessName) == "" {
		errs = append(errs, errors.New("missing business_name"))
	}
	fields := []struct{ name, value string }{
		{"business_name", t.BusinessName},
		{"website", t.Website},
		{"details", t.Details},
		{"rates_notice", t.RatesNotice},
		{"opt_in_wording", t.OptInWording},
		{"opt_out_wording", t.OptOutWording},
	}
	for _, f := range fields {
		if err := checkTextField(f.name, f.value); err != nil {
			errs = append(errs, err)
		}
	}
	if strings.ContainsFunc(strings.TrimSpace(t.Website), unicode.IsSpace) {
		errs = append(errs, fmt.Errorf("website %q contains spaces", t.Website))
	}
	if w := strings.TrimSpace(t.OptInWording); w != "" && !containsWord(w, "yes") {
		errs = append(errs, fmt.Errorf("opt_in_wording %q does not contain the word YES", w))
	}
	if w := strings.TrimSpace(t.OptOutWording); w != "" && !containsWord(w, "stop") {
		errs = append(errs, fmt.Errorf("opt_out_wording %q does not contain the word STOP", w))
	}
	if w := strings.TrimSpace(t.RatesNotice); w != "" && !containsWord(w, "rates") && !containsWord(w, "rate") {
		errs = append(errs, fmt.Errorf("rates_notice %q does not contain the word rates: every request must say "+
			"that message and data rates may apply", w))
	}
	return errors.Join(errs...)
}

// checkTextField checks one configured text: at most maxTemplateField
// characters and no control characters, line breaks included.
func checkTextField(name, value string) error {
	if n := len([]rune(value)); n > maxTemplateField {
		return fmt.Errorf("%s is %d characters long, over the maximum of %d", name, n, maxTemplateField)
	}
	if i := strings.IndexFunc(value, unicode.IsControl); i >= 0 {
		return fmt.Errorf("%s contains the control character %q at byte %d", name, value[i], i)
	}
	return nil
}

// containsWord reports whether text contains word as a whole word, ignoring
// case.
func containsWord(text, word string) bool {
	for _, f := range strings.FieldsFunc(text, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		if strings.EqualFold(f, word) {
			return true
		}
	}
	return false
}

// Rendered is a text ready to send, with the SMS segments it needs.
type Rendered struct {
	// Text is the message text.
	Text string
	// Segments is how many SMS segments Text needs in Coding, as counted by
	// smpp.CountSegments.
	Segments int
	// Coding is the smallest data_coding that holds Text: the GSM 03.38
	// default alphabet or UCS2.
	Coding smpp.DataCoding
}

func newRendered(text string) Rendered {
	segments, coding := smpp.CountSegments(text)
	return Rendered{Text: text, Segments: segments, Coding: coding}
}

// RenderRequest renders the opt-in request of template t sent from the
// toll-free number tollFree (E.164). The number appears in the readable form
// "(888) 555-0100". The parts come in this order: business name and number,
// details, how to opt in, how to opt out, rates notice, website. For
// example:
//
//	Acme Dental wants to send you texts from (888) 555-0100. Appointment
//	reminders. Reply YES to agree. Reply STOP to opt out. Your carrier's
//	message and data rates may apply. More at acme.example
//
// With the default wordings and no details or website, a request fits one
// GSM segment (160 characters) when the business name has at most 23
// characters of the GSM 03.38 alphabet.
//
// It fails when t is invalid or tollFree is not a US/CA toll-free number.
func RenderRequest(t Template, tollFree string) (Rendered, error) {
	if err := t.Validate(); err != nil {
		return Rendered{}, fmt.Errorf("consent: render opt-in request: invalid template: %w", err)
	}
	if !IsTollFree(tollFree) {
		return Rendered{}, fmt.Errorf("consent: render opt-in request: sender %q is not a US/CA toll-free number in E.164 form", tollFree)
	}

	parts := []string{
		strings.TrimSpace(t.BusinessName) + " wants to send you texts from " + formatNANP(tollFree) + ".",
	}
	if d := strings.TrimSpace(t.Details); d != "" {
		parts = append(parts, endSentence(d))
	}
	parts = append(parts,
		withDefault(t.OptInWording, DefaultOptInWording),
		withDefault(t.OptOutWording, DefaultOptOutWording),
		withDefault(t.RatesNotice, DefaultRatesNotice),
	)
	if w := strings.TrimSpace(t.Website); w != "" {
		// Last and without a period, which phones would take into the link.
		parts = append(parts, "More at "+w)
	}
	return newRendered(strings.Join(parts, " ")), nil
}

func withDefault(value, def string) string {
	if v := strings.TrimSpace(value); v != "" {
		return endSentence(v)
	}
	return def
}

// endSentence adds a period to s unless it already ends in sentence
// punctuation.
func endSentence(s string) string {
	if strings.HasSuffix(s, ".") || strings.HasSuffix(s, "!") || strings.HasSuffix(s, "?") {
		return s
	}
	return s + "."
}
