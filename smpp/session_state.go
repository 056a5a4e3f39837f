package smpp

import (
	"errors"
	"fmt"
	"time"
)

// Session errors that callers branch on with errors.Is.
var (
	// ErrClosed means the session or client is closed. Every error that
	// ends a session, such as ErrLinkDead, is also ErrClosed.
	ErrClosed = errors.New("smpp: session closed")

	// ErrNotBound means a request needs a bound session and there is none,
	// for example because a client is reconnecting or unbinding.
	ErrNotBound = errors.New("smpp: session not bound")

	// ErrResponseTimeout means the peer sent no response to a request
	// within the response timeout. The window slot is freed, and a late
	// response is dropped.
	ErrResponseTimeout = errors.New("smpp: response timeout")

	// ErrLinkDead means an enquire_link got no response within its
	// timeout, so the session was closed.
	ErrLinkDead = errors.New("smpp: link dead, enquire_link unanswered")

	// ErrIdleTimeout means the peer sent no PDU within the inactivity
	// timeout, so the session was closed.
	ErrIdleTimeout = errors.New("smpp: no pdu received within the inactivity timeout")

	// ErrUnbound means the session ended with an unbind, sent by either
	// side.
	ErrUnbound = errors.New("smpp: unbound")

	// ErrUnexpectedResponse means the peer answered a request with a
	// response of another type.
	ErrUnexpectedResponse = errors.New("smpp: unexpected response type")

	// ErrInvalidConfig means a ClientConfig or Server setting is out of
	// range. The error names the field.
	ErrInvalidConfig = errors.New("smpp: invalid config")

	// ErrServerClosed is returned by Server.Serve and ListenAndServe after
	// Shutdown or Close.
	ErrServerClosed = errors.New("smpp: server closed")
)

// errSessionDone is what window.acquire returns when the session closes
// while the caller waits for a slot. Callers replace it with the session's
// close error.
var errSessionDone = errors.New("smpp: session done")

// closeError is the reason a session closed. It matches ErrClosed and
// unwraps to the cause.
type closeError struct{ cause error }

func (e *closeError) Error() string        { return "smpp: session closed: " + trimPrefix(e.cause) }
func (e *closeError) Is(target error) bool { return target == ErrClosed }
func (e *closeError) Unwrap() error        { return e.cause }

// SessionState is the state of an SMPP session (SMPP 3.4 section 2.3).
type SessionState uint8

// Session states. SessionUnbinding and SessionClosed have no SMPP 3.4
// name: the first covers the time between an unbind and its response, in
// which no new request starts, and the second a connection that is gone.
const (
	SessionOpen      SessionState = iota // connected, not bound (OPEN)
	SessionBoundTX                       // bound as transmitter (BOUND_TX)
	SessionBoundRX                       // bound as receiver (BOUND_RX)
	SessionBoundTRX                      // bound as transceiver (BOUND_TRX)
	SessionUnbinding                     // unbind sent or received
	SessionClosed                        // connection closed (CLOSED)
)

var sessionStateNames = [...]string{"OPEN", "BOUND_TX", "BOUND_RX", "BOUND_TRX", "UNBINDING", "CLOSED"}

// String returns the SMPP 3.4 name of the state, such as "BOUND_TRX".
func (s SessionState) String() string {
	if int(s) < len(sessionStateNames) {
		return sessionStateNames[s]
	}
	return fmt.Sprintf("SessionState(%d)", uint8(s))
}

// Bound reports whether the state is one of the three bound states.
func (s SessionState) Bound() bool {
	return s == SessionBoundTX || s == SessionBoundRX || s == SessionBoundTRX
}

// canSubmit reports whether an ESME in this state may send submit_sm and
// the other ESME-to-SMSC requests (SMPP 3.4 section 2.3).
func (s SessionState) canSubmit() bool {
	return s == SessionBoundTX || s == SessionBoundTRX
}

// canReceive reports whether an ESME in this state may receive deliver_sm,
// data_sm and alert_notification from the SMSC (SMPP 3.4 section 2.3).
func (s SessionState) canReceive() bool {
	return s == SessionBoundRX || s == SessionBoundTRX
}

// BindType is the kind of bind an ESME requests. The zero value is
// BindTypeTransceiver.
type BindType uint8

// Bind types (SMPP 3.4 sections 4.1.1, 4.1.3 and 4.1.5).
const (
	BindTypeTransceiver BindType = iota // bind_transceiver: submit and receive
	BindTypeTransmitter                 // bind_transmitter: submit only
	BindTypeReceiver                    // bind_receiver: receive only
)

// String returns "transceiver", "transmitter" or "receiver".
func (b BindType) String() string {
	switch b {
	case BindTypeTransceiver:
		return "transceiver"
	case BindTypeTransmitter:
		return "transmitter"
	case BindTypeReceiver:
		return "receiver"
	}
	return fmt.Sprintf("BindType(%d)", uint8(b))
}

// State returns the session state after a successful bind of this type.
func (b BindType) State() SessionState {
	switch b {
	case BindTypeTransmitter:
		return SessionBoundTX
	case BindTypeReceiver:
		return SessionBoundRX
	}
	return SessionBoundTRX
}

// bindTypeOf returns the bind type of a bind request's command id.
func bindTypeOf(id CommandID) (BindType, bool) {
	switch id {
	case BindTransceiverID:
		return BindTypeTransceiver, true
	case BindTransmitterID:
		return BindTypeTransmitter, true
	case BindReceiverID:
		return BindTypeReceiver, true
	}
	return 0, false
}

// Hooks are callbacks for metrics. Every field is optional. They run on
// the session's goroutines, so they must return quickly and must not call
// back into the session. systemID is the ESME's system_id: the client's
// own, or on a server the bound peer's, empty before the bind.
type Hooks struct {
	// PDUSent is called after each PDU is written. The header's
	// CommandLength is not filled in.
	PDUSent func(systemID string, h Header)
	// PDUReceived is called for each PDU that decodes.
	PDUReceived func(systemID string, h Header)
	// WindowInUse is called when the number of outgoing requests waiting
	// for a response changes, with the new number and the window size.
	WindowInUse func(systemID string, inUse, size int)
	// Throttled is called when the peer answers ESME_RTHROTTLED or
	// ESME_RMSGQFUL, with the pause the bind now takes before its next
	// request.
	Throttled func(systemID string, status CommandStatus, pause time.Duration)
	// BindStateChanged is called when a session changes state. err is the
	// reason for SessionClosed, or the bind error when a client's bind
	// attempt fails, and nil otherwise.
	BindStateChanged func(systemID string, state SessionState, err error)
	// ProtocolError is called for a PDU that could not be decoded or a
	// frame with an invalid command_length.
	ProtocolError func(systemID string, err error)
}
