// Package topologies tests optgate on Redis Sentinel and Redis Cluster
// with real redis-server processes on free loopback ports. A whole daemon
// keeps its consent records in a Sentinel group while the test kills the
// master, and the gateway store runs on a three-master Cluster. Writes
// that wait for replicas (WAIT) must follow a Cluster slot that moved to
// another master.
//
// The tests need redis-server (`apt-get install redis-server`), which
// Debian builds with Sentinel and Cluster support. They fail, rather than
// skip, when it is missing. Run them with `make test-redis-topologies`.
package topologies
