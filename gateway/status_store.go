package gateway

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/redis/go-redis/v9"

	"github.com/optgate/optgate/consent"
)

// redisTransientPrefixes are the Redis error replies that clear by
// themselves: a replica that is read-only or still loading its data, a
// master without its replica link, a Cluster slot that is moving or
// uncovered, too few replicas for min-replicas-to-write, a script that
// blocks the server, and the connection limit.
var redisTransientPrefixes = []string{
	"READONLY", "LOADING", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN", "MOVED", "ASK",
	"NOREPLICAS", "BUSY", "ERR max number of clients reached",
}

// StoreTemporary reports whether err is a store failure that a retry may
// overcome without any change by the sender: the store could not be
// reached, did not answer in time, was failing over, or could not confirm
// a write on enough replicas. Such a failure is answered with a temporary
// status (CodeStoreUnavailable, or ESME_RX_T_APPN to a carrier), never
// with internal_error, so that the business or the carrier sends again.
// A canceled context is not temporary, because the caller went away.
func StoreTemporary(err error) bool {
	switch {
	case err == nil, errors.Is(err, context.Canceled):
		return false
	case errors.Is(err, ErrNotReplicated), errors.Is(err, consent.ErrNotReplicated),
		errors.Is(err, consent.ErrStoreUnavailable), errors.Is(err, errRedisConflict),
		errors.Is(err, context.DeadlineExceeded), errors.Is(err, redis.ErrPoolTimeout),
		errors.Is(err, ErrStoreClosed), errors.Is(err, redis.ErrClosed):
		return true
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, net.ErrClosed):
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		// Dial failures, timeouts and broken connections all come as
		// net.Error values; Redis is on the other side of each.
		return true
	}
	for _, p := range redisTransientPrefixes {
		if redis.HasErrorPrefix(err, p) {
			return true
		}
	}
	return false
}

// storeFailureCode returns the code of a store error: CodeStoreUnavailable
// when StoreTemporary holds, else CodeInternal.
func storeFailureCode(err error) Code {
	if StoreTemporary(err) {
		return CodeStoreUnavailable
	}
	return CodeInternal
}
