package config

import "time"

// Default id map retention, in step with the gateway's defaults.
const (
	// DefaultIDMapTTL is meant to cover the default validity periods
	// (SMPP 3.4 section 5.2.15) that carriers apply, because an SMSC
	// sends the final receipt at the latest when a text's validity period
	// ends. Carriers choose their own validity periods.
	DefaultIDMapTTL = 72 * time.Hour
	// DefaultKeepAfterFinal leaves time for late duplicate receipts and
	// status lookups after a message's final receipt.
	DefaultKeepAfterFinal = time.Hour
)

// Receipts sets how long optgate keeps the record of each message it sent:
// the carrier ids its receipts are matched by, and the state that
// GET /v1/messages/{id} returns.
type Receipts struct {
	// IDMapTTL is how long a record waits for the final receipts of its
	// segments. A receipt that arrives later matches nothing and is
	// dropped. Set it above the longest validity period of your carriers.
	// Default: 72h.
	IDMapTTL time.Duration `yaml:"id_map_ttl"`
	// KeepAfterFinal is how long a record is kept once every segment has
	// a final receipt, so that late duplicate receipts still match and
	// the status lookup still finds the message. The records of blocked
	// messages and of messages sent with no final receipt requested
	// (registered_delivery bits 1-0 set to 00) are kept this long from
	// the submit. With the embedded store each record takes about 420
	// bytes of the mapped gateway.db, so at high rates a shorter value
	// saves memory. It must not exceed id_map_ttl. Default: 1h.
	KeepAfterFinal time.Duration `yaml:"keep_after_final"`
}

func (v *validator) receipts(r *Receipts) {
	v.positive("receipts.id_map_ttl", r.IDMapTTL)
	v.positive("receipts.keep_after_final", r.KeepAfterFinal)
	if r.IDMapTTL > 0 && r.KeepAfterFinal > r.IDMapTTL {
		v.errorf("receipts.keep_after_final", "%s exceeds receipts.id_map_ttl (%s); use at most the TTL",
			r.KeepAfterFinal, r.IDMapTTL)
	}
}
