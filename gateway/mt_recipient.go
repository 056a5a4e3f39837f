package gateway

import (
	"fmt"

	"github.com/optgate/optgate/consent"
)

// tollFreeRecipient returns CodeRecipientTollFree when to, in E.164
// form, is one of the toll-free numbers optgate serves, of any account.
// Those numbers take texts from subscribers. A text or an opt-in request
// sent to one would come back into optgate as a subscriber's text, so a
// request could even record consent that no subscriber gave.
func (s *MTService) tollFreeRecipient(account, to, direction string) error {
	if _, ok := s.cfg.Registry.AccountByTollFree(to); !ok {
		return nil
	}
	s.cfg.Metrics.message(direction, outcomeBlocked, CodeRecipientTollFree)
	s.reportBlock(account, to, direction, CodeRecipientTollFree)
	return newError(CodeRecipientTollFree,
		fmt.Errorf("recipient %s is a toll-free number optgate serves", to))
}

// optInRecipient normalizes the recipient of an opt-in request for the
// toll-free check. A number that does not normalize is left to the
// consent engine, which reports it.
func (s *MTService) optInRecipient(req OptInRequest) (string, bool) {
	to, err := consent.NormalizeNumber(req.To, 0, 0, s.cfg.DefaultRegion)
	return to, err == nil
}
