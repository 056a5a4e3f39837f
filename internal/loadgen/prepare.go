package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/optgate/optgate/consent"
)

// PrepareResult counts the numbers a prepare step imported as opted in.
type PrepareResult struct {
	// Numbers is how many numbers were sent to the import.
	Numbers int
	// Applied counts the numbers whose record changed, Skipped those
	// already in a state the import does not change (such as opted in, or
	// opted out, which an import never lifts), and Invalid those the target
	// rejected.
	Applied, Skipped, Invalid int
}

// importChunk is the most rows one import request or batch carries. At
// about 15 bytes a row, a chunk stays far below the HTTP API's 32 MiB
// limit on a CSV body.
const importChunk = 50_000

// PrepareHTTP imports numbers as opted in for account through optgate's
// POST /v1/consent/import, which takes the operator token. It fails when
// the API rejects a request or any row.
func PrepareHTTP(ctx context.Context, baseURL, operatorToken, account string, numbers []string) (PrepareResult, error) {
	res := PrepareResult{Numbers: len(numbers)}
	u, err := url.Parse(strings.TrimRight(baseURL, "/") + "/v1/consent/import")
	if err != nil {
		return res, fmt.Errorf("HTTP API URL %q: %w", baseURL, err)
	}
	u.RawQuery = url.Values{"account": {account}, "kind": {"consent"}}.Encode()
	client := &http.Client{Timeout: 11 * time.Minute} // the API allows an import 10 minutes
	for start := 0; start < len(numbers); start += importChunk {
		chunk := numbers[start:min(start+importChunk, len(numbers))]
		r, err := postImport(ctx, client, u.String(), operatorToken, chunk)
		if err != nil {
			return res, err
		}
		res.Applied += r.Applied
		res.Skipped += r.Skipped
		res.Invalid += r.Invalid
		if r.Invalid > 0 {
			return res, fmt.Errorf("import: %d of %d rows invalid, the first: %s", r.Invalid, r.Rows, r.firstError())
		}
	}
	return res, nil
}

// importResponse is the body of a successful POST /v1/consent/import.
type importResponse struct {
	Rows    int `json:"rows"`
	Applied int `json:"applied"`
	Skipped int `json:"skipped"`
	Invalid int `json:"invalid"`
	Errors  []struct {
		Line    int    `json:"line"`
		Message string `json:"message"`
	} `json:"errors"`
}

func (r importResponse) firstError() string {
	if len(r.Errors) == 0 {
		return "not listed"
	}
	return fmt.Sprintf("line %d: %s", r.Errors[0].Line, r.Errors[0].Message)
}

func postImport(ctx context.Context, client *http.Client, target, token string, numbers []string) (importResponse, error) {
	var body bytes.Buffer
	body.WriteString("number,state\n")
	for _, n := range numbers {
		body.WriteString(n)
		body.WriteString(",opted_in\n")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, &body)
	if err != nil {
		return importResponse{}, err
	}
	req.Header.Set("Content-Type", "text/csv")
	req.Header.Set("Authorization", "Bearer "+token)

	resp, err := client.Do(req)
	if err != nil {
		return importResponse{}, fmt.Errorf("import consent: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	if err != nil {
		return importResponse{}, fmt.Errorf("import consent: read the response: %w", err)
	}

	if resp.StatusCode != http.StatusOK {
		f := httpFailure(resp.StatusCode, raw)
		var e errorResponse
		if json.Unmarshal(raw, &e) == nil && e.Error.Message != "" {
			f.detail = e.Error.Message
		}
		return importResponse{}, fmt.Errorf("import consent: HTTP %s: %s: %s", f.status, f.reason, f.detail)
	}
	var r importResponse
	if err := json.Unmarshal(raw, &r); err != nil {
		return r, fmt.Errorf("import consent: invalid response %.200q: %w", raw, err)
	}
	return r, nil
}

// PrepareBolt imports numbers as opted in for account straight into the
// embedded store file at path, which it creates when missing. The daemon
// must not be running on the file, because bbolt lets one process at a
// time open it.
func PrepareBolt(ctx context.Context, path, account string, numbers []string) (PrepareResult, error) {
	s, err := consent.OpenBolt(path, consent.BoltOptions{})
	if err != nil {
		return PrepareResult{}, err
	}
	res, err := PrepareStore(ctx, s, account, numbers, time.Now())
	return res, errors.Join(err, s.Close())
}

// PrepareRedis imports numbers as opted in for account straight into the
// Redis store at the redis:// URL, under keyPrefix ("" for the default,
// "optgate:").
func PrepareRedis(ctx context.Context, redisURL, keyPrefix, account string, numbers []string) (PrepareResult, error) {
	s, err := consent.OpenRedis(ctx, consent.RedisOptions{URL: redisURL, KeyPrefix: keyPrefix})
	if err != nil {
		return PrepareResult{}, err
	}
	res, err := PrepareStore(ctx, s, account, numbers, time.Now())
	return res, errors.Join(err, s.Close())
}

// storeWriters is the number of concurrent Apply calls on a store that
// cannot apply batches, such as Redis, where each call is a round trip.
const storeWriters = 16

// PrepareStore applies an opted-in import event, dated at, for each number
// in E.164 form: in one batch per chunk when the store implements
// consent.BatchApplier, or with concurrent Apply calls otherwise. As with a
// CSV import, an opt-out is never lifted.
func PrepareStore(ctx context.Context, store consent.Store, account string, numbers []string,
	at time.Time) (PrepareResult, error) {
	res := PrepareResult{Numbers: len(numbers)}
	events := make([]consent.Event, len(numbers))
	for i, n := range numbers {
		events[i] = consent.Event{Kind: consent.EventImport, Import: consent.StateOptedIn,
			Account: account, Number: n, Source: consent.SourceImport, Time: at,
			Text: "optgate bench -prepare"}
		if err := events[i].Validate(); err != nil {
			return res, fmt.Errorf("number %q: %w", n, err)
		}
	}
	count := func(a consent.Applied) {
		if a.Effect.Changed {
			res.Applied++
		} else {
			res.Skipped++
		}
	}

	if ba, ok := store.(consent.BatchApplier); ok {
		for start := 0; start < len(events); start += importChunk {
			end := min(start+importChunk, len(events))
			applied, err := ba.ApplyBatch(ctx, events[start:end])
			if err != nil {
				return res, fmt.Errorf("import numbers %d to %d: %w", start+1, end, err)
			}
			for _, a := range applied {
				count(a)
			}
		}
		return res, nil
	}

	applied := make([]consent.Applied, len(events))
	errs := make([]error, storeWriters)
	var wg sync.WaitGroup
	for w := range storeWriters {
		wg.Go(func() {
			for i := w; i < len(events) && errs[w] == nil; i += storeWriters {
				applied[i], errs[w] = store.Apply(ctx, events[i])
				if errs[w] != nil {
					errs[w] = fmt.Errorf("import %s: %w", events[i].Number, errs[w])
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return res, err
	}
	for _, a := range applied {
		count(a)
	}
	return res, nil
}
