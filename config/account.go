package config

import "time"

// Account is one business that texts through optgate: its identity, its
// toll-free numbers, the credentials its systems use and where its inbound
// messages go.
type Account struct {
	// ID is the account's unique identifier: lowercase letters, digits, '-'
	// and '_', at most 64 characters. Required.
	ID string `yaml:"id"`
	// BusinessName is the name every opt-in request and HELP reply shows.
	// Required.
	BusinessName string `yaml:"business_name"`
	// ContactNumber is the E.164 number HELP replies give for contact.
	// Default: the first toll-free number.
	ContactNumber string `yaml:"contact_number"`
	// Website is an http or https URL that opt-in requests may show.
	// Default: empty.
	Website string `yaml:"website"`
	// Details is a short description of what the business texts about, which
	// opt-in requests may show. Default: empty.
	Details string `yaml:"details"`
	// Templates replace the built-in wording of the texts optgate sends on
	// the account's behalf. Default: built-in wording.
	Templates Templates `yaml:"templates"`
	// TollFree are the numbers the account texts from. At least one is
	// required.
	TollFree []TollFreeNumber `yaml:"toll_free"`
	// ESMEs are the SMPP credentials the account's systems bind with.
	// Default: none.
	ESMEs []ESME `yaml:"esme"`
	// APITokens are the bearer tokens the HTTP API accepts for the account.
	// Default: none.
	APITokens []APIToken `yaml:"api_tokens"`
	// Delivery is the destination of the account's inbound messages (MO)
	// and delivery receipts. Default: smpp.
	Delivery Delivery `yaml:"delivery"`
	// ReceiptPolicy chooses which part's receipt stands for a message that
	// optgate sent in several parts: first, last, all or worst. Worst reports
	// the least successful part, so a message counts as delivered only when
	// every part was. Default: worst.
	ReceiptPolicy string `yaml:"receipt_policy"`
	// BlockedReceipts, when true, accepts a message that the consent filter
	// blocks with ESME_ROK and reports it later in a delivery receipt with
	// stat REJECTD, for ESMEs that mishandle unknown error statuses. When
	// false the submit_sm_resp carries the error status. Default: false.
	BlockedReceipts bool `yaml:"blocked_receipts"`
	// QuietHours, when true, keeps texts to a number from being sent before
	// 8 a.m. or after 9 p.m. in that number's local time, the limits of
	// 47 CFR 64.1200(c)(1). Default: false.
	QuietHours bool `yaml:"quiet_hours"`
	// Shadow, when true, runs the consent filter without enforcing it: each
	// decision is logged and counted, but blocked messages are still sent.
	// Default: false.
	Shadow bool `yaml:"shadow"`
	// SIPTrunks are the SIP peers allowed to send MESSAGE requests and calls
	// for the account. Default: none.
	SIPTrunks []SIPTrunk `yaml:"sip_trunks"`
	// OptOutWords are extra opt-out words for this account only, added to
	// the built-in words and to Keywords.OptOut. Default: none.
	OptOutWords []string `yaml:"opt_out_words"`
}

// Template placeholders. Each one is written in braces, such as
// {business_name}, and replaced when the text is built.
const (
	PlaceholderBusinessName  = "business_name"  // Account.BusinessName
	PlaceholderNumber        = "number"         // the toll-free number sending the text
	PlaceholderWebsite       = "website"        // Account.Website
	PlaceholderDetails       = "details"        // Account.Details
	PlaceholderContactNumber = "contact_number" // Account.ContactNumber
)

// Templates replace the built-in wording of the texts optgate sends for an
// account. An empty template keeps the built-in wording. Placeholders are
// the Placeholder constants in braces, and any other name in braces is an
// error.
type Templates struct {
	// OptInRequest is the text that requests a number's opt-in. It must
	// contain {business_name}, {number}, and the words YES and STOP. It must
	// also state that message and data rates may apply, a rule that optgate
	// cannot check in free wording. Default: built-in wording.
	OptInRequest string `yaml:"opt_in_request"`
	// OptInConfirmation is the reply to a YES that recorded an opt-in.
	// Default: built-in wording.
	OptInConfirmation string `yaml:"opt_in_confirmation"`
	// OptOutConfirmation is the one reply to an opt-out. It must not
	// market anything. Default: built-in wording.
	OptOutConfirmation string `yaml:"opt_out_confirmation"`
	// Help is the reply to HELP and INFO. It must contain {business_name},
	// {contact_number} and the word STOP. Default: built-in wording.
	Help string `yaml:"help"`
}

// TollFreeNumber is a US or Canadian toll-free number an account texts
// from. It is ready to text only when it answers calls with a greeting and
// takes voicemail.
type TollFreeNumber struct {
	// Number in E.164 form with one of the toll-free area codes 800, 833,
	// 844, 855, 866, 877 or 888, such as +18005550100. Required.
	Number string `yaml:"number"`
	// Greeting is the WAV file played to callers: PCM, 16-bit, mono,
	// 8000 Hz. A relative path is relative to the working directory of the
	// optgate process. The value DemoGreeting plays the built-in demo tone.
	// Default: empty, which leaves the number not ready.
	Greeting string `yaml:"greeting"`
	// Voicemail lets callers leave a message after the greeting.
	Voicemail Voicemail `yaml:"voicemail"`
}

// Ready reports whether the number has a greeting and takes voicemail, the
// two conditions for texting from it.
func (n TollFreeNumber) Ready() bool {
	return n.Greeting != "" && n.Voicemail.Enabled
}

// Voicemail configures recording of callers' messages.
type Voicemail struct {
	// Enabled records a message after the greeting. Default: false.
	Enabled bool `yaml:"enabled"`
	// MaxDuration is the longest message recorded, at most 1h.
	// Default: 2m.
	MaxDuration time.Duration `yaml:"max_duration"`
}

// ESME is one set of SMPP credentials an account's system binds with.
type ESME struct {
	// SystemID is the system_id sent in bind requests, at most 15
	// characters (SMPP 3.4 section 4.1.1), unique across all accounts.
	// Required.
	SystemID string `yaml:"system_id"`
	// PasswordHash is the bcrypt hash of the bind password. Make one with
	// `optgate hash-password`. SMPP 3.4 limits the password itself to 8
	// characters. Required.
	PasswordHash string `yaml:"password_hash" secret:"true"`
	// MaxBinds is how many sessions may be bound with these credentials at
	// once, between 1 and 100. Default: 1.
	MaxBinds int `yaml:"max_binds"`
}

// APIToken is a bearer token the HTTP API accepts for an account. bcrypt is
// slow on purpose, so a verifier should cache tokens it has already checked.
type APIToken struct {
	// Name identifies the token in logs, unique within the account.
	// Required.
	Name string `yaml:"name"`
	// Hash is the bcrypt hash of the token. Make one with
	// `optgate hash-password`. Required.
	Hash string `yaml:"hash" secret:"true"`
}

// Delivery types.
const (
	DeliverySMPP    = "smpp"    // deliver_sm to the account's bound ESMEs
	DeliveryWebhook = "webhook" // an HTTP POST to a URL
	DeliverySIP     = "sip"     // a SIP MESSAGE to a URI
)

// Receipt policies for messages sent in several parts.
const (
	ReceiptFirst = "first" // the first part's receipt
	ReceiptLast  = "last"  // the last part's receipt
	ReceiptAll   = "all"   // every part's receipt
	ReceiptWorst = "worst" // the least successful part's receipt
)

// Delivery is the destination of an account's inbound messages and
// receipts.
type Delivery struct {
	// Type is smpp, webhook or sip. Default: smpp.
	Type string `yaml:"type"`
	// URL is the http or https URL that webhook delivery posts to. Required
	// for webhook. Default: empty.
	URL string `yaml:"url"`
	// Secret is the key that signs webhook requests, so the receiver can
	// check their origin. Default: empty, which sends them unsigned.
	Secret string `yaml:"secret" secret:"true"`
	// SIPURI is the sip: or sips: URI that sip delivery sends MESSAGE
	// requests to. Required for sip. Default: empty.
	SIPURI string `yaml:"sip_uri"`
}

// SIPTrunk is a SIP peer of an account. A request from the trunk must come
// from one of AllowedCIDRs when any are listed, and must pass digest
// authentication (RFC 3261 section 22.4) when Username is set. At least one
// of the two is required.
type SIPTrunk struct {
	// Name identifies the trunk in logs, unique within the account.
	// Required.
	Name string `yaml:"name"`
	// AllowedCIDRs are the source networks accepted, such as
	// 192.0.2.0/24 or 2001:db8::/32. Default: none.
	AllowedCIDRs []string `yaml:"allowed_cidrs"`
	// Username is the digest user name, unique across all accounts.
	// Default: empty, which turns digest authentication off.
	Username string `yaml:"username"`
	// Realm is the digest realm in optgate's challenges. Default: optgate.
	Realm string `yaml:"realm"`
	// PasswordHA1 is the digest H(A1) in hex: the MD5 (32 digits, RFC 2617
	// section 3.2.2.2) or SHA-256 (64 digits, RFC 8760) of
	// "username:realm:password". Make one with
	// `optgate hash-password -sip-user NAME`. Required with Username.
	PasswordHA1 string `yaml:"password_ha1" secret:"true"`
}
