// Package deploy holds the deployment files of optgate and no Go code:
// the systemd unit (systemd/), the container image (Dockerfile), the
// compose demo with two instances, Redis, Prometheus and Grafana
// (compose.yaml, compose/, prometheus/, grafana/), and the alert rules.
// Its tests check those files: promtool and systemd-analyze where they are
// installed, the structure of the compose file, the Dockerfile and the
// dashboard, and that every metric the alerts and the dashboard use is
// exported by a running daemon.
package deploy
