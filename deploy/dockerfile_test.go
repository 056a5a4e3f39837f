package deploy

import (
	"bufio"
	"bytes"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// dockerInstruction is one instruction of a Dockerfile, with continuation
// lines joined.
type dockerInstruction struct {
	stage int // index of the FROM it follows
	cmd   string
	args  string
}

func loadDockerfile(t *testing.T) []dockerInstruction {
	t.Helper()
	var out []dockerInstruction
	stage := -1
	var pending strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(readFile(t, "Dockerfile")))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if pending.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if more, ok := strings.CutSuffix(line, "\\"); ok {
			pending.WriteString(more + " ")
			continue
		}
		pending.WriteString(line)
		cmd, args, _ := strings.Cut(pending.String(), " ")
		pending.Reset()
		cmd = strings.ToUpper(cmd)
		if cmd == "FROM" {
			stage++
		}
		out = append(out, dockerInstruction{stage: stage, cmd: cmd, args: strings.TrimSpace(args)})
	}
	return out
}

func TestDockerfileStages(t *testing.T) {
	ins := loadDockerfile(t)
	var froms []string
	for _, in := range ins {
		if in.cmd == "FROM" {
			froms = append(froms, in.args)
		}
	}
	if len(froms) < 2 {
		t.Fatalf("Dockerfile has %d stages, want a build stage and a final stage", len(froms))
	}
	final := froms[len(froms)-1]
	if !strings.HasPrefix(final, "gcr.io/distroless/static") && final != "scratch" {
		t.Errorf("final stage FROM %q, want distroless/static or scratch", final)
	}
	build := ""
	for _, in := range ins {
		if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
			build = in.args
		}
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "./cmd/optgate"} {
		if !strings.Contains(build, want) {
			t.Errorf("the go build step %q lacks %s", build, want)
		}
	}
}

func TestDockerfileFinalStage(t *testing.T) {
	ins := loadDockerfile(t)
	last := ins[len(ins)-1].stage
	final := map[string][]string{}
	for _, in := range ins {
		if in.stage == last {
			final[in.cmd] = append(final[in.cmd], in.args)
		}
	}

	users := final["USER"]
	if len(users) == 0 {
		t.Fatal("the final stage sets no USER, so the image runs as root")
	}
	uid, _, _ := strings.Cut(users[len(users)-1], ":")
	if n, err := strconv.Atoi(uid); err != nil || n == 0 {
		t.Errorf("USER %q, want a numeric user other than 0", users[len(users)-1])
	}

	var exposed []string
	for _, e := range final["EXPOSE"] {
		exposed = append(exposed, strings.Fields(e)...)
	}
	for _, port := range []string{"2775/tcp", "8080/tcp", "5060/udp", "5060/tcp", "5061/tcp"} {
		if !slices.Contains(exposed, port) {
			t.Errorf("EXPOSE %q lacks %s", exposed, port)
		}
	}

	health := strings.Join(final["HEALTHCHECK"], " ")
	if !strings.Contains(health, `"healthz"`) || !strings.Contains(health, "CMD [") {
		t.Errorf("HEALTHCHECK %q, want the exec form running optgate healthz", health)
	}
	if !slices.ContainsFunc(final["COPY"], func(s string) bool { return strings.HasPrefix(s, "--from=") }) {
		t.Error("the final stage copies nothing from the build stage")
	}
}
