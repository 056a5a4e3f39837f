// Package gateway is optgate's routing core. It routes business texts (MT)
// to carriers and carrier traffic (MO texts and delivery receipts) back to
// businesses, and asks the consent engine (package consent) about every
// message on the way.
//
// The core is built against narrow interfaces so that it runs without
// sockets: a CarrierLink submits one segment to a carrier, a Deliverer hands
// one queued item to a business, and Store keeps the durable state (the
// message id map, unmatched receipts, partial MO segments and the
// per-account delivery queues). BoltStore is the embedded Store, one bbolt
// file separate from the consent store.
//
// The services are:
//
//   - MTService: Submit checks a business text against the consent rules,
//     splits it for the carrier, submits every segment and records the id
//     map before it returns optgate's message id. RequestOptIn sends an
//     opt-in request rendered by the engine.
//   - MOService: HandleDeliver takes a carrier deliver_sm or data_sm. It
//     hands receipts to ReceiptService, reassembles MO segments, applies the
//     consent keyword, queues the MO for the business and the engine's reply
//     for the carrier, and returns ESME_ROK only once all of that is durable.
//   - ReceiptService: correlates carrier receipts with optgate's ids and
//     queues one receipt per message for the business, following the
//     account's receipt policy.
//   - Dispatcher: drains each queue in order to its Deliverer, retrying with
//     capped exponential back-off.
//   - Sweeper: removes expired id mappings, unmatched receipts and partial
//     MO texts, and enforces the queue retention limits.
//
// NewCore wires all of them together.
//
// Status maps every outcome to one SMPP command_status, HTTP status and
// error code, and SIP response; docs/api.md lists the table.
package gateway
