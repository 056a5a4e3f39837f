package config

// Operator holds the credential of the HTTP API's operator, who may
// reload the configuration, import consent states and read every
// account's records.
type Operator struct {
	// TokenHash is the bcrypt hash of the operator's bearer token, made
	// with `optgate hash-password`, under the same rules as an account's
	// api_tokens hash. `optgate run` refuses to start when the
	// OPTGATE_OPERATOR_TOKEN environment variable is set as well, and
	// `optgate config check` reports the same clash, so that it is clear
	// which token is in force. It must differ from every account's token
	// hash. Changing it needs a restart.
	// Default: empty, which leaves the operator endpoints off unless the
	// variable is set.
	TokenHash string `yaml:"token_hash" secret:"true"`
}

// operator checks the operator's token hash when one is set.
func (v *validator) operator(o *Operator) {
	if o.TokenHash == "" {
		return
	}
	v.bcryptHash("operator.token_hash", o.TokenHash)
	// The same hash means the same token: one secret would then act as
	// both the operator and an account, and which one a request gets
	// would depend on the endpoint.
	for _, a := range v.c.Accounts {
		for _, t := range a.APITokens {
			if t.Hash == o.TokenHash {
				v.errorf("operator.token_hash", "is the hash of account %q's api token %q; "+
					"give the operator a token of its own", a.ID, t.Name)
			}
		}
	}
}
