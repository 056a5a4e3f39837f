package config

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// identifier is the form of account ids and carrier names.
var identifier = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// accountIndex records which path first used a value that must be unique
// across all accounts.
type accountIndex struct {
	ids, systemIDs, numbers, sipUsers map[string]string
}

func (v *validator) accounts(accounts []Account) {
	if len(accounts) == 0 {
		v.warnf("accounts", "no accounts are configured, so optgate accepts no business traffic")
		return
	}
	index := accountIndex{
		ids:       map[string]string{},
		systemIDs: map[string]string{},
		numbers:   map[string]string{},
		sipUsers:  map[string]string{},
	}
	for i := range accounts {
		v.account(fmt.Sprintf("accounts[%d]", i), &accounts[i], &index)
	}
}

// unique records value at path in seen and reports an error when another
// path already used it. Use it only for values that are not secret.
func (v *validator) unique(seen map[string]string, value, path, description string) {
	if first, ok := seen[value]; ok {
		v.errorf(path, "duplicate %s %q, first used at %s", description, value, first)
		return
	}
	seen[value] = path
}

func (v *validator) account(p string, a *Account, index *accountIndex) {
	switch {
	case a.ID == "":
		v.errorf(p+".id", "is required")
	case !identifier.MatchString(a.ID):
		v.errorf(p+".id", "%q is not a valid id; use 1 to 64 lowercase letters, digits, '-' and '_', "+
			"starting with a letter or digit", a.ID)
	default:
		v.unique(index.ids, a.ID, p+".id", "account id")
	}
	if strings.TrimSpace(a.BusinessName) == "" {
		v.errorf(p+".business_name", "is required, because every opt-in request and HELP reply shows it")
	}
	if a.Website != "" {
		v.httpURL(p+".website", a.Website)
	}
	v.templates(p+".templates", &a.Templates)

	if len(a.TollFree) == 0 {
		v.errorf(p+".toll_free", "at least one toll-free number is required to send texts from")
	}
	for i := range a.TollFree {
		v.tollFree(fmt.Sprintf("%s.toll_free[%d]", p, i), &a.TollFree[i], index)
	}
	if a.ContactNumber != "" && (len(a.TollFree) == 0 || a.ContactNumber != a.TollFree[0].Number) {
		if msg := checkE164(a.ContactNumber); msg != "" {
			v.errorf(p+".contact_number", "%s", msg)
		}
	}

	for i := range a.ESMEs {
		v.esme(fmt.Sprintf("%s.esme[%d]", p, i), &a.ESMEs[i], index)
	}
	v.apiTokens(p+".api_tokens", a.APITokens)
	if len(a.ESMEs) == 0 && len(a.APITokens) == 0 {
		v.warnf(p, "has no esme credentials and no api_tokens, so its systems cannot send texts")
	}

	v.delivery(p+".delivery", a)
	switch a.ReceiptPolicy {
	case ReceiptFirst, ReceiptLast, ReceiptAll, ReceiptWorst:
	default:
		v.errorf(p+".receipt_policy", "%q is not a receipt policy; use first, last, all or worst",
			a.ReceiptPolicy)
	}
	v.sipTrunks(p+".sip_trunks", a.SIPTrunks, index)
	v.wordList(p+".opt_out_words", a.OptOutWords)
}

// placeholder matches a {name} in a template.
var placeholder = regexp.MustCompile(`\{([^{}]*)\}`)

var knownPlaceholders = []string{
	PlaceholderBusinessName, PlaceholderNumber, PlaceholderWebsite,
	PlaceholderDetails, PlaceholderContactNumber,
}

func (v *validator) templates(p string, t *Templates) {
	v.template(p+".opt_in_request", t.OptInRequest,
		[]string{PlaceholderBusinessName, PlaceholderNumber}, []string{"YES", "STOP"})
	v.template(p+".opt_in_confirmation", t.OptInConfirmation, nil, nil)
	v.template(p+".opt_out_confirmation", t.OptOutConfirmation, nil, nil)
	v.template(p+".help", t.Help,
		[]string{PlaceholderBusinessName, PlaceholderContactNumber}, []string{"STOP"})
}

// template checks the placeholders of a non-empty template and that it
// contains the required placeholders and keywords. Keywords match as whole
// words, ignoring case.
func (v *validator) template(path, text string, placeholders, keywords []string) {
	if text == "" {
		return
	}
	used := map[string]bool{}
	for _, m := range placeholder.FindAllStringSubmatch(text, -1) {
		if !slices.Contains(knownPlaceholders, m[1]) {
			v.errorf(path, "unknown placeholder {%s}; use {%s}", m[1],
				strings.Join(knownPlaceholders, "}, {"))
			continue
		}
		used[m[1]] = true
	}
	for _, name := range placeholders {
		if !used[name] {
			v.errorf(path, "must contain {%s}", name)
		}
	}
	for _, word := range keywords {
		if !containsWord(text, word) {
			v.errorf(path, "must contain the keyword %s", word)
		}
	}
}

func containsWord(text, word string) bool {
	fields := strings.FieldsFunc(text, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9')
	})
	for _, f := range fields {
		if strings.EqualFold(f, word) {
			return true
		}
	}
	return false
}

func (v *validator) tollFree(p string, n *TollFreeNumber, index *accountIndex) {
	switch {
	case n.Number == "":
		v.errorf(p+".number", "is required")
	default:
		if msg := checkTollFree(n.Number); msg != "" {
			v.errorf(p+".number", "%s", msg)
		} else {
			v.unique(index.numbers, n.Number, p+".number", "toll-free number")
		}
	}

	var missing []string
	if n.Greeting == "" {
		missing = append(missing, "no greeting")
	} else {
		exists, err := checkGreetingFile(n.Greeting)
		switch {
		case err != nil:
			v.errorf(p+".greeting", "%s: %v", n.Greeting, err)
		case !exists:
			missing = append(missing, "greeting file "+n.Greeting+" not found")
		}
	}
	if !n.Voicemail.Enabled {
		missing = append(missing, "voicemail off")
	}
	if len(missing) > 0 {
		v.warnf(p, "%s is not ready (%s), so texting from it will be rejected",
			n.Number, strings.Join(missing, ", "))
	}
	if d := n.Voicemail.MaxDuration; d <= 0 || d > time.Hour {
		v.errorf(p+".voicemail.max_duration", "must be between 1s and 1h")
	}
}

func (v *validator) esme(p string, e *ESME, index *accountIndex) {
	v.smppString(p+".system_id", e.SystemID, 15, true)
	if e.SystemID != "" {
		v.unique(index.systemIDs, e.SystemID, p+".system_id", "ESME system_id")
	}
	v.bcryptHash(p+".password_hash", e.PasswordHash)
	if e.MaxBinds < 1 || e.MaxBinds > 100 {
		v.errorf(p+".max_binds", "must be between 1 and 100, got %d", e.MaxBinds)
	}
}

func (v *validator) apiTokens(p string, tokens []APIToken) {
	names := map[string]string{}
	for i, t := range tokens {
		tp := fmt.Sprintf("%s[%d]", p, i)
		if t.Name == "" {
			v.errorf(tp+".name", "is required")
		} else {
			v.unique(names, t.Name, tp+".name", "token name")
		}
		v.bcryptHash(tp+".hash", t.Hash)
	}
}

// bcryptPattern matches a modular-crypt bcrypt hash: version 2a, 2b or 2y,
// a two-digit cost, then 22 characters of salt and 31 of hash.
var bcryptPattern = regexp.MustCompile(`^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$`)

// bcryptHash checks the format of a bcrypt hash without quoting it: a
// plain-text password typed by mistake would otherwise end up in logs.
func (v *validator) bcryptHash(path, hash string) {
	if hash == "" {
		v.errorf(path, "is required; make one with `optgate hash-password`")
		return
	}
	m := bcryptPattern.FindStringSubmatch(hash)
	if m == nil {
		v.errorf(path, "is not a bcrypt hash ($2a$, $2b$ or $2y$, cost, 53 characters); "+
			"make one with `optgate hash-password`")
		return
	}
	cost, _ := strconv.Atoi(m[1])
	switch {
	case cost < 4 || cost > 31:
		v.errorf(path, "has bcrypt cost %d; bcrypt allows 4 to 31", cost)
	case cost < 10:
		v.warnf(path, "has bcrypt cost %d, which is fast to brute-force; use 10 or more", cost)
	}
}

func (v *validator) delivery(p string, a *Account) {
	d := &a.Delivery
	switch d.Type {
	case DeliverySMPP:
		if len(a.ESMEs) == 0 {
			v.errorf(p+".type", "smpp delivery needs at least one esme entry to bind and receive")
		}
	case DeliveryWebhook:
		if d.URL == "" {
			v.errorf(p+".url", "is required for webhook delivery")
		} else if v.httpURL(p+".url", d.URL) && strings.HasPrefix(d.URL, "http:") {
			if u, _ := url.Parse(d.URL); !isLoopbackHost(u.Hostname()) {
				v.warnf(p+".url", "sends messages in clear text; use https")
			}
		}
	case DeliverySIP:
		if d.SIPURI == "" {
			v.errorf(p+".sip_uri", "is required for sip delivery")
		} else {
			v.sipURI(p+".sip_uri", d.SIPURI)
		}
	default:
		v.errorf(p+".type", "%q is not a delivery type; use smpp, webhook or sip", d.Type)
		return
	}
	for _, f := range []struct{ field, value, forType string }{
		{"url", d.URL, DeliveryWebhook},
		{"secret", d.Secret, DeliveryWebhook},
		{"sip_uri", d.SIPURI, DeliverySIP},
	} {
		if d.Type != f.forType && f.value != "" {
			v.warnf(p+"."+f.field, "is ignored because delivery.type is %s", d.Type)
		}
	}
}

// httpURL checks an absolute http or https URL and reports whether it is
// valid.
func (v *validator) httpURL(path, raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.errorf(path, "%q is not an http or https URL", raw)
		return false
	}
	return true
}

// sipURI checks the shape of a sip: or sips: URI (RFC 3261 section 19.1.1):
// scheme, optional user part and a host, with optional port and
// parameters.
func (v *validator) sipURI(path, uri string) {
	rest, ok := strings.CutPrefix(uri, "sip:")
	if !ok {
		rest, ok = strings.CutPrefix(uri, "sips:")
	}
	if !ok {
		v.errorf(path, "%q is not a SIP URI; it must start with sip: or sips:", uri)
		return
	}
	hostPort, _, _ := strings.Cut(rest, ";")
	hostPort, _, _ = strings.Cut(hostPort, "?")
	if at := strings.LastIndexByte(hostPort, '@'); at >= 0 {
		hostPort = hostPort[at+1:]
	}
	host := hostPort
	if h, _, err := net.SplitHostPort(hostPort); err == nil {
		host = h
	}
	if host == "" || strings.ContainsAny(host, " \t") {
		v.errorf(path, "%q has no valid host", uri)
	}
}

func (v *validator) sipTrunks(p string, trunks []SIPTrunk, index *accountIndex) {
	names := map[string]string{}
	for i := range trunks {
		t := &trunks[i]
		tp := fmt.Sprintf("%s[%d]", p, i)
		if t.Name == "" {
			v.errorf(tp+".name", "is required")
		} else {
			v.unique(names, t.Name, tp+".name", "trunk name")
		}
		for j, cidr := range t.AllowedCIDRs {
			if _, _, err := net.ParseCIDR(cidr); err != nil {
				v.errorf(fmt.Sprintf("%s.allowed_cidrs[%d]", tp, j),
					"%q is not a CIDR network; write 192.0.2.10/32 for a single address", cidr)
			}
		}
		switch {
		case t.Username != "":
			v.unique(index.sipUsers, t.Username, tp+".username", "SIP user name")
			v.ha1(tp+".password_ha1", t.PasswordHA1)
			if t.Realm == "" {
				v.errorf(tp+".realm", "is required with username")
			}
		case t.PasswordHA1 != "":
			v.errorf(tp+".username", "is required with password_ha1")
		case len(t.AllowedCIDRs) == 0:
			v.errorf(tp, "needs allowed_cidrs, a username for digest authentication, or both")
		}
	}
}

var hexDigits = regexp.MustCompile(`^[0-9a-fA-F]+$`)

// ha1 checks a digest H(A1) without quoting it.
func (v *validator) ha1(path, ha1 string) {
	switch {
	case ha1 == "":
		v.errorf(path, "is required with username; make one with "+
			"`optgate hash-password -sip-user NAME`")
	case !hexDigits.MatchString(ha1) || (len(ha1) != 32 && len(ha1) != 64):
		v.errorf(path, "must be 32 (MD5) or 64 (SHA-256) hex digits; make one with "+
			"`optgate hash-password -sip-user NAME`")
	}
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
