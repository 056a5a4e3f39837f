package deploy

import (
	"bufio"
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const promtoolInstall = "apt-get install prometheus (Debian), which provides promtool"

func TestPromtoolCheckRules(t *testing.T) {
	promtool := requireTool(t, "promtool", promtoolInstall)
	out := runTool(t, "prometheus", promtool, "check", "rules", "alerts.yml")
	if !strings.Contains(out, "SUCCESS") {
		t.Errorf("promtool check rules printed no SUCCESS:\n%s", out)
	}
}

func TestPromtoolCheckConfig(t *testing.T) {
	promtool := requireTool(t, "promtool", promtoolInstall)
	out := runTool(t, "prometheus", promtool, "check", "config", "prometheus.yml")
	if !strings.Contains(out, "is valid prometheus config file syntax") {
		t.Errorf("promtool check config did not report a valid file:\n%s", out)
	}
}

// TestPromtoolTestRules runs the unit tests of the alert rules, which fire
// every alert from synthetic series.
func TestPromtoolTestRules(t *testing.T) {
	promtool := requireTool(t, "promtool", promtoolInstall)
	out := runTool(t, "prometheus", promtool, "test", "rules", "alerts_test.yml")
	if !strings.Contains(out, "SUCCESS") {
		t.Errorf("promtool test rules printed no SUCCESS:\n%s", out)
	}
}

// ruleFile is the part of a Prometheus rule file the tests read.
type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []rule `yaml:"rules"`
	} `yaml:"groups"`
}

type rule struct {
	Record      string            `yaml:"record"`
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

// ruleTestFile is the part of a promtool unit test file the tests read.
type ruleTestFile struct {
	RuleFiles []string `yaml:"rule_files"`
	Tests     []struct {
		Name          string `yaml:"name"`
		AlertRuleTest []struct {
			AlertName string `yaml:"alertname"`
			ExpAlerts []any  `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

func loadRules(t *testing.T) []rule {
	t.Helper()
	var f ruleFile
	if err := yaml.Unmarshal(readFile(t, "prometheus/alerts.yml"), &f); err != nil {
		t.Fatalf("parse prometheus/alerts.yml: %v", err)
	}
	var rules []rule
	for _, g := range f.Groups {
		rules = append(rules, g.Rules...)
	}
	if len(rules) == 0 {
		t.Fatal("prometheus/alerts.yml has no rules")
	}
	return rules
}

// TestAlertsRequiredSet checks that the alerts operators need are there.
func TestAlertsRequiredSet(t *testing.T) {
	have := map[string]bool{}
	for _, r := range loadRules(t) {
		have[r.Alert] = true
	}
	for _, name := range []string{
		"OptgateDown", "OptgateNotReady", "CarrierBindDown", "BlockRateSpike",
		"ConsentStoreErrors", "QueueBacklog", "ReceiptsDelayed",
	} {
		if !have[name] {
			t.Errorf("alert %s is missing from prometheus/alerts.yml", name)
		}
	}
}

// TestAlertsLabelsAndRunbooks checks every alert's severity, annotations
// and runbook anchor in docs/operations.md.
func TestAlertsLabelsAndRunbooks(t *testing.T) {
	anchors := markdownAnchors(t, "../docs/operations.md")
	for _, r := range loadRules(t) {
		if r.Alert == "" {
			continue
		}
		if s := r.Labels["severity"]; s != "critical" && s != "warning" {
			t.Errorf("alert %s: severity %q, want critical or warning", r.Alert, s)
		}
		for _, key := range []string{"summary", "description", "runbook"} {
			if strings.TrimSpace(r.Annotations[key]) == "" {
				t.Errorf("alert %s: annotation %s is missing", r.Alert, key)
			}
		}
		runbook := r.Annotations["runbook"]
		anchor, ok := strings.CutPrefix(runbook, "docs/operations.md#")
		if !ok {
			t.Errorf("alert %s: runbook %q does not point into docs/operations.md", r.Alert, runbook)
			continue
		}
		if anchor != strings.ToLower(r.Alert) {
			t.Errorf("alert %s: runbook anchor %q, want %q", r.Alert, anchor, strings.ToLower(r.Alert))
		}
		if !anchors[anchor] {
			t.Errorf("alert %s: docs/operations.md has no heading with anchor #%s", r.Alert, anchor)
		}
	}
}

// TestAlertsEachFiresInUnitTests checks that alerts_test.yml fires every
// alert at least once and tests no alert that does not exist.
func TestAlertsEachFiresInUnitTests(t *testing.T) {
	var tf ruleTestFile
	if err := yaml.Unmarshal(readFile(t, "prometheus/alerts_test.yml"), &tf); err != nil {
		t.Fatalf("parse prometheus/alerts_test.yml: %v", err)
	}
	if len(tf.RuleFiles) != 1 || tf.RuleFiles[0] != "alerts.yml" {
		t.Errorf("alerts_test.yml rule_files = %q, want [alerts.yml]", tf.RuleFiles)
	}
	fired := map[string]bool{}
	tested := map[string]bool{}
	for _, tc := range tf.Tests {
		for _, at := range tc.AlertRuleTest {
			tested[at.AlertName] = true
			if len(at.ExpAlerts) > 0 {
				fired[at.AlertName] = true
			}
		}
	}
	alerts := map[string]bool{}
	for _, r := range loadRules(t) {
		if r.Alert == "" {
			continue
		}
		alerts[r.Alert] = true
		if !fired[r.Alert] {
			t.Errorf("alert %s never fires in prometheus/alerts_test.yml", r.Alert)
		}
	}
	for name := range tested {
		if !alerts[name] {
			t.Errorf("prometheus/alerts_test.yml tests alert %s, which alerts.yml does not define", name)
		}
	}
}

var headingRE = regexp.MustCompile(`^#{1,6}\s+(.+?)\s*#*\s*$`)

// markdownAnchors returns the anchors GitHub gives the headings of a
// Markdown file: lowercase, punctuation other than '-' and '_' removed,
// spaces turned into '-'. Headings inside code blocks are skipped.
func markdownAnchors(t *testing.T, path string) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	anchors := map[string]bool{}
	inCode := false
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "```") {
			inCode = !inCode
			continue
		}
		m := headingRE.FindStringSubmatch(line)
		if inCode || m == nil {
			continue
		}
		anchors[githubAnchor(m[1])] = true
	}
	return anchors
}

func githubAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9'):
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestGitHubAnchor(t *testing.T) {
	tests := map[string]string{
		"OptgateDown":                  "optgatedown",
		"Redis persistence: RDB & AOF": "redis-persistence-rdb--aof",
		"Rolling upgrades":             "rolling-upgrades",
	}
	for heading, want := range tests {
		if got := githubAnchor(heading); got != want {
			t.Errorf("githubAnchor(%q) = %q, want %q", heading, got, want)
		}
	}
}
