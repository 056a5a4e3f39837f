package gateway

import (
	"errors"

	"github.com/optgate/optgate/config"
)

// errOperatorTwice rejects a daemon given the operator's token both in
// DaemonOptions and as operator.token_hash.
var errOperatorTwice = errors.New("daemon: the operator token is set twice, in operator.token_hash " +
	"and by the caller (OPTGATE_OPERATOR_TOKEN for optgate run); set only one")

// operatorCheck returns the HTTP API's check of the operator's token:
// DaemonOptions.OperatorToken, else operator.token_hash, else none.
func (d *Daemon) operatorCheck(cfg *config.Config) func(token string) bool {
	if h := cfg.Operator.TokenHash; h != "" && d.opts.OperatorToken == "" {
		return OperatorTokenHash(h)
	}
	return OperatorToken(d.opts.OperatorToken)
}
