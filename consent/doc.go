// Package consent decides whether a business may text a subscriber, and
// keeps the evidence.
//
// # Rules
//
// Consent belongs to one (account, number) pair: another number of the same
// person, or the same number with another account, is not covered.
//
//   - An MT is allowed only when the number is opted in with the account
//     and the sender is one of the account's US/CA toll-free numbers (800,
//     833, 844, 855, 866, 877, 888) that answers calls with a custom
//     greeting and takes voicemail. Every block carries a Reason code.
//   - A number opts in only by replying YES to an opt-in request, at any
//     later time, and to the toll-free number the request came from. An
//     account may send at most two requests to a number, and none to a
//     number that opted out.
//   - A STOP-family keyword or revocation phrase opts the number out at
//     once, from any state, with one confirmation. The confirmation stays
//     pending in the record until the gateway reports it queued
//     (EventReplyQueued), so a STOP the carrier redelivers after a crash
//     still gets it. A crash between queueing and that report can cost
//     one extra confirmation. YES never lifts an opt-out. UNSTOP or START
//     restores the state before the STOP.
//   - HELP and INFO are answered in every state.
//   - A reassigned or disconnected number loses its consent until a new
//     request and YES.
//   - Accounts may keep quiet hours: no MT before 8:00 or from 21:00 in the
//     recipient's time zone (47 CFR 64.1200(c)(1)).
//
// Transition holds these rules in one pure function, and it is the only
// code that changes a Record. The Engine adds what needs no record: account
// and sender checks, quiet hours, keyword classification and reply texts.
//
// # Failure and shadow mode
//
// The engine fails closed: when the store returns an error or does not
// answer before the context's deadline, CheckMT blocks with the temporary
// ReasonStoreUnavailable. An account in shadow mode has every MT allowed,
// but each Decision still names the reason it would have blocked for, and
// Engine.Stats counts those decisions by reason.
//
// # Storage and evidence
//
// Records and their audit trail live in a Store: BoltStore, one embedded
// bbolt file, or the Redis store. Each store applies an event and appends
// its audit entry in one atomic step, and the package storetest checks that
// every store enforces the rules identically. Audit entries keep the time,
// channel, message ids and verbatim texts (the MO, the request a YES
// replied to, the reply sent). Stores never delete them: the TCPA's
// limitation period is four years, so retention beyond that is the
// operator's decision. Engine.Evidence returns a number's full history.
//
// # Logging
//
// The engine logs nothing unless given a zap logger. Subscriber numbers in
// its logs have their last four digits masked, because they are personal
// data.
package consent
