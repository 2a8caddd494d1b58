package replica

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"github.com/twmb/franz-go/pkg/kgo"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/gregorhq/gregor/internal/config"
	"github.com/gregorhq/gregor/internal/metadata"
	"github.com/gregorhq/gregor/internal/storage"
)

// recoveryCheckpointFile is Kafka's name for the per-log-dir file of recovery points: the
// offsets below which each log was flushed at a clean shutdown and needs no scan on start.
const recoveryCheckpointFile = "recovery-point-offset-checkpoint"

// logStartCheckpointFile is Kafka's name for the per-log-dir file of log start offsets, so
// that records removed by DeleteRecords stay removed across restarts. Unlike the recovery
// checkpoint it holds at any time, so it is rewritten whenever a log start offset moves.
const logStartCheckpointFile = "log-start-offset-checkpoint"

// partitionMetadataFile records the topic id in a partition directory, as Kafka does, so a
// topic deleted and re-created under the same name while the broker was down is told apart.
const partitionMetadataFile = "partition.metadata"

// MetadataTopic is the name of the metadata log's directory (MetadataTopic-0) in the log
// dir, as in Kafka; the replica manager never touches it.
const MetadataTopic = "__cluster_metadata"

// Config configures a Manager.
type Config struct {
	NodeID int32
	// LogDir is the directory holding the partition directories.
	LogDir string
	FS     storage.FS
	// TopicDefaults are the broker-level defaults of topic configs.
	TopicDefaults config.Topic
	// Broker, when set, is the broker's static config: the topic defaults are then its log.*
	// configs with the image's dynamic broker configs applied (Broker.WithDynamic), and
	// TopicDefaults is the fallback when those do not validate.
	Broker *config.Broker
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// RetentionCheckInterval is log.retention.check.interval.ms: how often the Manager
	// deletes old segments of every partition. Zero or less runs no retention in the
	// background (RunRetention still does one pass).
	RetentionCheckInterval time.Duration

	// ProducerIDExpiration is producer.id.expiration.ms: an idempotent producer that wrote
	// nothing to a partition for this long is forgotten there (Kafka's default, 1 day, when
	// zero). ProducerIDExpirationCheckInterval is producer.id.expiration.check.interval.ms:
	// how often that is checked; zero or less checks only when ExpireProducers is called.
	ProducerIDExpiration              time.Duration
	ProducerIDExpirationCheckInterval time.Duration

	// The log cleaner (cleaner.go): log.cleaner.enable, log.cleaner.backoff.ms and
	// log.cleaner.io.max.bytes.per.second (not positive and finite: no limit).
	CleanerEnable              bool
	CleanerBackoff             time.Duration
	CleanerIoMaxBytesPerSecond float64

	// Replication (replication.go, fetcher.go). InterBrokerListener names the endpoint of a
	// leader's registration that followers fetch from (inter.broker.listener.name);
	// AlterPartition asks the controller for ISR changes (nil: ISRs never change, as when
	// every partition has one replica). The rest are Kafka's replica.* broker configs; zero
	// takes Kafka's default.
	InterBrokerListener string
	// InterBrokerClientOpts are the fetchers' client options for that listener's security
	// (TLS, SASL with this broker's own credentials); none for PLAINTEXT.
	InterBrokerClientOpts []kgo.Opt
	AlterPartition        AlterPartitionFunc
	// NumReplicaFetchers is num.replica.fetchers: fetcher goroutines per leader broker.
	NumReplicaFetchers int
	// ReplicaFetchMaxBytes, ReplicaFetchMinBytes, ReplicaFetchWaitMax,
	// ReplicaFetchResponseMaxBytes and ReplicaFetchBackoff are replica.fetch.max.bytes (per
	// partition), replica.fetch.min.bytes, replica.fetch.wait.max.ms,
	// replica.fetch.response.max.bytes and replica.fetch.backoff.ms.
	ReplicaFetchMaxBytes         int32
	ReplicaFetchMinBytes         int32
	ReplicaFetchWaitMax          time.Duration
	ReplicaFetchResponseMaxBytes int32
	ReplicaFetchBackoff          time.Duration
	// ReplicaLagTimeMax is replica.lag.time.max.ms: a follower that has not caught up for
	// this long leaves the ISR. The ISR is checked every half of it.
	ReplicaLagTimeMax time.Duration
}

// Manager owns the partitions this broker hosts.
//
// Lock order: checkpointMu, then mu (then the partitions' locks, see the package comment).
type Manager struct {
	cfg     Config
	log     *slog.Logger
	cleaner *cleaner

	// checkpointMu serializes writes of the log start offset checkpoint, so that a write
	// of older offsets never lands after a write of newer ones.
	checkpointMu sync.Mutex

	mu sync.RWMutex
	// Fields guarded by mu.
	partitions      map[storage.TopicPartition]*Partition
	recoveryPoints  map[storage.TopicPartition]int64 // read at start, for logs not opened yet
	logStartOffsets map[storage.TopicPartition]int64 // likewise
	highWatermarks  map[storage.TopicPartition]int64 // likewise (replication-offset-checkpoint)
	closed          bool
	// appliedOffset is the Offset of the newest image applied (with applied set once one
	// was). Apply ignores older images: callers read the controller's image and apply it
	// without ordering among themselves, and an older image would delete the logs of
	// partitions created since. Invariant: never decreases.
	appliedOffset uint64
	applied       bool

	// The retention goroutine: closed stopRetention asks it to stop; it closes
	// retentionDone when it has. Both nil when it does not run.
	stopRetention, retentionDone chan struct{}
	// Likewise the producer expiry goroutine.
	stopExpiry, expiryDone chan struct{}

	// listenersMu guards markerListeners (OnTxnMarker), by topic. It is taken alone.
	listenersMu     sync.RWMutex
	markerListeners map[string][]TxnMarkerListener

	// Replication (replication.go): ctx is cancelled by Close, which then waits for the
	// goroutines started by goTracked (wg); image is the newest applied image; fetchers are
	// the follower fetchers.
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	image    atomic.Pointer[metadata.Image]
	fetchers *fetchers
	// The replication throttles (throttle.go), shared by every throttled partition.
	leaderThrottle, followerThrottle *throttle
}

// NewManager prepares the log directory and reads its recovery checkpoint. Logs are opened by
// Apply, once the metadata image says which partitions this broker hosts.
func NewManager(cfg Config) (*Manager, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ProducerIDExpiration <= 0 {
		cfg.ProducerIDExpiration = 24 * time.Hour
	}
	if err := cfg.FS.MkdirAll(cfg.LogDir, 0o755); err != nil {
		return nil, err
	}
	rp, err := storage.ReadCheckpoint(cfg.FS, filepath.Join(cfg.LogDir, recoveryCheckpointFile))
	if err != nil {
		cfg.Logger.Warn("unreadable recovery checkpoint; every log will be scanned", "err", err)
		rp = map[storage.TopicPartition]int64{}
	}
	// The checkpoint holds only for the shutdown that wrote it: remove it, so that a crash
	// before the next clean shutdown makes the next start scan again.
	if err := cfg.FS.Remove(filepath.Join(cfg.LogDir, recoveryCheckpointFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	lso, err := storage.ReadCheckpoint(cfg.FS, filepath.Join(cfg.LogDir, logStartCheckpointFile))
	if err != nil {
		cfg.Logger.Warn("unreadable log start offset checkpoint; logs start at their first segment", "err", err)
		lso = map[storage.TopicPartition]int64{}
	}
	m := &Manager{
		cfg:             cfg,
		log:             cfg.Logger,
		partitions:      map[storage.TopicPartition]*Partition{},
		recoveryPoints:  rp,
		logStartOffsets: lso,
		highWatermarks:  readHighWatermarks(cfg),
	}
	m.leaderThrottle, m.followerThrottle = newThrottle(cfg.Now), newThrottle(cfg.Now)
	m.cleaner = newCleaner(m)
	m.startReplication()
	if cfg.RetentionCheckInterval > 0 {
		m.stopRetention, m.retentionDone = make(chan struct{}), make(chan struct{})
		go m.retentionLoop(cfg.RetentionCheckInterval)
	}
	if cfg.ProducerIDExpirationCheckInterval > 0 {
		m.stopExpiry, m.expiryDone = make(chan struct{}), make(chan struct{})
		go m.expiryLoop(cfg.ProducerIDExpirationCheckInterval)
	}
	return m, nil
}

// Partition returns a hosted partition, or UNKNOWN_TOPIC_OR_PARTITION.
func (m *Manager) Partition(topic string, partition int32) (*Partition, error) {
	m.mu.RLock()
	p, ok := m.partitions[storage.TopicPartition{Topic: topic, Partition: partition}]
	m.mu.RUnlock()
	if !ok {
		return nil, kerr.UnknownTopicOrPartition
	}
	return p, nil
}

// Partitions returns the hosted partitions, in no particular order. The slice is the caller's;
// a partition in it may be closed by a later Apply.
func (m *Manager) Partitions() []*Partition {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]*Partition, 0, len(m.partitions))
	for _, p := range m.partitions {
		out = append(out, p)
	}
	return out
}

// Apply makes the hosted partitions match img: it opens or creates the logs of partitions that
// name this broker as a replica, and deletes the logs of partitions that are gone. On the first
// call it also removes partition directories the image does not know (topics deleted while the
// broker was down).
func (m *Manager) Apply(img *metadata.Image) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || (m.applied && img.Offset < m.appliedOffset) {
		return nil
	}
	m.applied, m.appliedOffset = true, img.Offset
	m.image.Store(img)
	want := map[storage.TopicPartition]bool{}
	var errs []error
	defaults := m.topicDefaults(img)
	var changes []partitionChange
	for _, t := range img.Topics {
		cfg, err := config.TopicConfig(defaults, t.Configs)
		if err != nil {
			// The controller validated these; fall back to defaults rather than stop serving.
			m.log.Error("invalid topic config in metadata", "topic", t.Name, "err", err)
			cfg = defaults
		}
		for _, part := range t.Partitions {
			if !contains(part.Replicas, m.cfg.NodeID) {
				continue
			}
			tp := storage.TopicPartition{Topic: t.Name, Partition: part.ID}
			want[tp] = true
			p := m.partitions[tp]
			if p != nil && p.TopicID != t.ID {
				// Same name, new topic: the old log goes.
				m.deleteLocked(p)
				p = nil
			}
			changes = append(changes, partitionChange{tp: tp, topicID: t.ID, cfg: cfg, part: part, p: p})
		}
	}
	// Partitions are opened and updated concurrently (see diskParallelism); each call works
	// on its own partition, and mu, held here, keeps them all from everyone else until done.
	forEachParallel(len(changes), diskParallelism, func(i int) {
		c := &changes[i]
		if c.p != nil {
			c.fetch = c.p.update(c.cfg, c.part)
			return
		}
		if c.p, c.err = m.openLocked(c.tp, c.topicID, c.cfg); c.err != nil {
			return
		}
		c.fetch = c.p.update(c.cfg, c.part)
	})
	for i := range changes {
		c := &changes[i]
		if c.err != nil {
			errs = append(errs, fmt.Errorf("open %s-%d: %w", c.tp.Topic, c.tp.Partition, c.err))
			continue
		}
		m.partitions[c.tp] = c.p
		if c.fetch {
			m.fetchers.add(c.p, img, c.part.Leader, c.part.LeaderEpoch)
		} else if c.part.Leader == m.cfg.NodeID {
			m.fetchers.remove(c.tp)
		}
	}
	for tp, p := range m.partitions {
		if !want[tp] {
			m.fetchers.remove(tp)
			m.deleteLocked(p)
		}
	}
	m.applyThrottlesLocked(img)
	if m.recoveryPoints != nil {
		// First image: remove directories of partitions that no longer exist.
		m.removeStrayLocked(want)
		m.recoveryPoints, m.logStartOffsets, m.highWatermarks = nil, nil, nil
	}
	return errors.Join(errs...)
}

// partitionChange is what Apply does to one partition the image places on this broker: open
// its log when p is nil, then apply its config and role (fetch: it now follows a leader).
type partitionChange struct {
	tp      storage.TopicPartition
	topicID metadata.UUID
	cfg     config.Topic
	part    metadata.Partition
	p       *Partition
	fetch   bool
	err     error
}

// topicDefaults returns the topic config defaults under img's dynamic broker configs: the
// static config, overlaid by the dynamic cluster default, overlaid by this broker's own.
func (m *Manager) topicDefaults(img *metadata.Image) config.Topic {
	if m.cfg.Broker == nil {
		return m.cfg.TopicDefaults
	}
	b, err := m.cfg.Broker.WithDynamic(config.Dynamic{
		Default: img.BrokerConfigs[""],
		Broker:  img.BrokerConfigs[strconv.Itoa(int(m.cfg.NodeID))],
	})
	if err != nil {
		m.log.Error("invalid dynamic broker config in metadata; using the static config", "err", err)
		return m.cfg.TopicDefaults
	}
	return b.TopicDefaults()
}

func (m *Manager) openLocked(tp storage.TopicPartition, id metadata.UUID, cfg config.Topic) (*Partition, error) {
	dir := filepath.Join(m.cfg.LogDir, storage.DirName(tp.Topic, tp.Partition))
	old, hasID := m.readTopicID(dir)
	if hasID && old != id {
		m.log.Info("removing log of an older topic with the same name", "topic", tp.Topic, "partition", tp.Partition)
		if err := m.cfg.FS.RemoveAll(dir); err != nil {
			return nil, err
		}
		hasID = false
	}
	logger := m.log.With("topic", tp.Topic, "partition", tp.Partition)
	p := &Partition{
		TP:             tp,
		TopicID:        id,
		nodeID:         m.cfg.NodeID,
		mgr:            m,
		leader:         -1,
		leaderEpoch:    -1,
		partitionEpoch: -1,
		now:            m.cfg.Now,
		logStartMoved:  m.writeLogStartCheckpoint,
		logger:         logger,
		cfg:            cfg,
		fs:             m.cfg.FS,

		markerListeners: m.txnMarkerListeners,
	}
	// The log calls back into the partition at every roll to snapshot the producer state.
	p.logConfig = func(cfg config.Topic) storage.LogConfig {
		lc := m.logConfig(cfg)
		lc.OnRoll = p.onRollLocked
		return lc
	}
	l, err := storage.Open(m.cfg.FS, dir, p.logConfig(cfg), m.recoveryPoints[tp], m.logStartOffsets[tp], logger)
	if err != nil {
		return nil, err
	}
	if !hasID { // a restart finds it written already
		if err := m.writeTopicID(dir, id); err != nil {
			l.Close()
			return nil, err
		}
	}
	p.producers, err = loadProducerState(m.cfg.FS, l, logger)
	if err != nil {
		l.Close()
		return nil, err
	}
	if p.epochs, err = storage.OpenLeaderEpochCache(m.cfg.FS, dir); err != nil {
		// Kafka rebuilds nothing either: the cache starts over from the next epoch.
		m.log.Warn("unreadable leader epoch checkpoint; starting an empty one", "err", err)
		if err := m.cfg.FS.Remove(filepath.Join(dir, storage.LeaderEpochCheckpointFile)); err != nil {
			l.Close()
			return nil, err
		}
		if p.epochs, err = storage.OpenLeaderEpochCache(m.cfg.FS, dir); err != nil {
			l.Close()
			return nil, err
		}
	}
	// Entries that a crash kept the file from getting come back from the batches recovery
	// read; entries past what the log holds (it lost an unsynced tail, or an epoch began at
	// the log end and wrote nothing) go, and a leader assigns its epoch again when it takes
	// over. None of this writes the file: the log's next flush does (SetLeaderEpochCache),
	// so a restart that gives thousands of partitions a new leader epoch fsyncs nothing for
	// them (see storage.LeaderEpochCheckpointFile for why that is safe).
	p.epochs.Recover(l.RecoveredEpochs())
	p.epochs.DropFromEnd(l.LogEndOffset())
	l.SetLeaderEpochCache(p.epochs)
	p.log = l
	p.highWatermark = l.LogEndOffset()
	if hw, ok := m.highWatermarks[tp]; ok {
		// What the ISR had, as last checkpointed: a broker that becomes leader must not show
		// consumers an unreplicated tail. A sole replica moves it to its log end at once.
		p.highWatermark = max(min(hw, l.LogEndOffset()), l.LogStartOffset())
	}
	p.firstUnstableOffset = p.producers.firstUnstableOffset()
	return p, nil
}

// logConfig maps a topic's configuration to its log's.
func (m *Manager) logConfig(cfg config.Topic) storage.LogConfig {
	return storage.LogConfig{
		SegmentBytes:       cfg.SegmentBytes,
		IndexIntervalBytes: int64(cfg.IndexIntervalBytes),
		SegmentIndexBytes:  int64(cfg.SegmentIndexBytes),
		SegmentMs:          cfg.SegmentMs,
		SegmentJitterMs:    cfg.SegmentJitterMs,
		RetentionMs:        cfg.RetentionMs,
		RetentionBytes:     cfg.RetentionBytes,
		FileDeleteDelayMs:  cfg.FileDeleteDelayMs,
		FlushMessages:      cfg.FlushMessages,
		Now:                m.cfg.Now,
	}
}

func (m *Manager) deleteLocked(p *Partition) {
	delete(m.partitions, p.TP)
	m.cleaner.forget(p.TP)
	p.appendMu.Lock()
	defer p.appendMu.Unlock()
	if err := p.log.Delete(); err != nil {
		m.log.Error("deleting log failed", "topic", p.TP.Topic, "partition", p.TP.Partition, "err", err)
	}
}

// removeStrayLocked deletes partition directories that no partition of the image owns.
func (m *Manager) removeStrayLocked(want map[storage.TopicPartition]bool) {
	entries, err := m.cfg.FS.ReadDir(m.cfg.LogDir)
	if err != nil {
		m.log.Error("listing log dir failed", "err", err)
		return
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		topic, part, ok := storage.ParseDirName(e.Name())
		if !ok || topic == MetadataTopic || want[storage.TopicPartition{Topic: topic, Partition: part}] {
			continue
		}
		m.log.Info("removing log of a deleted partition", "dir", e.Name())
		if err := m.cfg.FS.RemoveAll(filepath.Join(m.cfg.LogDir, e.Name())); err != nil {
			m.log.Error("removing log failed", "dir", e.Name(), "err", err)
		}
	}
}

// Close stops the log cleaner and the retention goroutine, flushes every log, writes the
// recovery and log start offset checkpoints and closes the logs.
func (m *Manager) Close() error {
	m.cleaner.stop() // before mu: a pass lists partitions under it
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.mu.Unlock()
	m.stopReplication()
	m.writeHighWatermarks()
	if m.stopRetention != nil {
		close(m.stopRetention)
		<-m.retentionDone
	}
	if m.stopExpiry != nil {
		close(m.stopExpiry)
		<-m.expiryDone
	}

	m.checkpointMu.Lock()
	defer m.checkpointMu.Unlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	var errs []error
	if err := m.writeLogStartCheckpointLocked(); err != nil {
		errs = append(errs, err)
	}
	// Logs are closed concurrently (see diskParallelism): each flushes and fsyncs its files.
	parts := make([]*Partition, 0, len(m.partitions))
	for _, p := range m.partitions {
		parts = append(parts, p)
	}
	points := make([]int64, len(parts))
	closeErrs := make([]error, len(parts))
	forEachParallel(len(parts), diskParallelism, func(i int) {
		p := parts[i]
		p.appendMu.Lock()
		defer p.appendMu.Unlock()
		// A clean shutdown snapshots the producer state at the log end, so the next start
		// replays nothing; but not a failed log's, whose state may be missing what the
		// failure left unrecorded (an aborted transaction's index entry): the next start
		// replays from an older snapshot and records it then.
		if p.log.Failed() == nil {
			p.snapshotProducersAtEndLocked()
		}
		closeErrs[i] = p.log.Close()
		points[i] = p.log.RecoveryPoint()
	})
	checkpoint := make(map[storage.TopicPartition]int64, len(parts))
	for i, p := range parts {
		if closeErrs[i] != nil {
			errs = append(errs, closeErrs[i])
		} else {
			checkpoint[p.TP] = points[i]
		}
	}
	if err := storage.WriteCheckpoint(m.cfg.FS, filepath.Join(m.cfg.LogDir, recoveryCheckpointFile), checkpoint); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// expiryLoop runs ExpireProducers every interval until Close.
func (m *Manager) expiryLoop(interval time.Duration) {
	defer close(m.expiryDone)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-m.stopExpiry:
			return
		case <-t.C:
			m.ExpireProducers()
		}
	}
}

// ExpireProducers forgets, in every hosted partition, the idempotent producers idle for
// producer.id.expiration.ms (Kafka's removeExpiredProducers), and returns how many went. A
// forgotten producer that comes back is accepted at any sequence, as a new one.
func (m *Manager) ExpireProducers() int {
	m.mu.RLock()
	parts := make([]*Partition, 0, len(m.partitions))
	for _, p := range m.partitions {
		parts = append(parts, p)
	}
	m.mu.RUnlock()
	n := 0
	for _, p := range parts {
		n += p.expireProducers(m.cfg.ProducerIDExpiration.Milliseconds())
	}
	return n
}

// readTopicID reads the topic id of a partition directory's partition.metadata file.
func (m *Manager) readTopicID(dir string) (metadata.UUID, bool) {
	f, err := m.cfg.FS.OpenFile(filepath.Join(dir, partitionMetadataFile), os.O_RDONLY, 0)
	if err != nil {
		return metadata.UUID{}, false
	}
	defer f.Close()
	data, err := io.ReadAll(io.NewSectionReader(f, 0, 1<<12))
	if err != nil {
		return metadata.UUID{}, false
	}
	for _, line := range bytes.Split(data, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("topic_id: ")); ok {
			raw, err := base64.RawURLEncoding.DecodeString(string(bytes.TrimSpace(v)))
			if err != nil || len(raw) != 16 {
				return metadata.UUID{}, false
			}
			return metadata.UUID(raw), true
		}
	}
	return metadata.UUID{}, false
}

// writeTopicID writes partition.metadata in Kafka's format.
func (m *Manager) writeTopicID(dir string, id metadata.UUID) error {
	name := filepath.Join(dir, partitionMetadataFile)
	f, err := m.cfg.FS.OpenFile(name+".tmp", os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(f, "version: 0\ntopic_id: %s\n", base64.RawURLEncoding.EncodeToString(id[:]))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return m.cfg.FS.Rename(name+".tmp", name)
}

func contains(s []int32, v int32) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
