package config

import (
	"sort"
	"strings"
)

// suggest returns `; did you mean "x"?` when one of the known keys is close
// to key, and an empty string otherwise. A known key is close when it is
// equal to key after removing case, '_' and '-'. It is also close within an
// edit distance of 2, or 1 for keys of four characters or fewer. Last, a
// known key is close when it adds an "_" suffix to key ("password_hash" for
// "password"), or when key starts with it ("addr" for "address") and it has
// three or more characters.
func suggest(key string, known []string) string {
	sort.Strings(known) // the same suggestion on every run
	best, bestDistance := "", 3
	normalized := normalizeKey(key)
	for _, k := range known {
		if normalizeKey(k) == normalized {
			return `; did you mean "` + k + `"?`
		}
		// "password" for "password_hash", "address" for "addr".
		if (strings.HasPrefix(k, key+"_") || len(k) >= 3 && strings.HasPrefix(key, k)) &&
			bestDistance > 2 {
			best, bestDistance = k, 2
			continue
		}
		limit := 2
		if len(key) <= 4 {
			limit = 1
		}
		if d := editDistance(key, k); d <= limit && d < bestDistance {
			best, bestDistance = k, d
		}
	}
	if best == "" {
		return ""
	}
	return `; did you mean "` + best + `"?`
}

func normalizeKey(s string) string {
	s = strings.ToLower(s)
	return strings.NewReplacer("_", "", "-", "").Replace(s)
}

// editDistance is the Levenshtein distance between a and b in bytes, which
// is enough for the ASCII keys of the configuration.
func editDistance(a, b string) int {
	previous := make([]int, len(b)+1)
	current := make([]int, len(b)+1)
	for j := range previous {
		previous[j] = j
	}
	for i := 1; i <= len(a); i++ {
		current[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			current[j] = min(previous[j]+1, current[j-1]+1, previous[j-1]+cost)
		}
		previous, current = current, previous
	}
	return previous[len(b)]
}
