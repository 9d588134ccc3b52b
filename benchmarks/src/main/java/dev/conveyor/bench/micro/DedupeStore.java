package dev.conveyor.bench.micro;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.rocksdb.BlockBasedTableConfig;
import org.rocksdb.BloomFilter;
import org.rocksdb.CompactionStyle;
import org.rocksdb.CompressionType;
import org.rocksdb.FlushOptions;
import org.rocksdb.LRUCache;
import org.rocksdb.Options;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.WriteOptions;

/**
 * The rollups' dedupe lookup per usage record, on RocksDB as Kafka Streams opens a store (its
 * {@code RocksDBStore.openDB} defaults: 16 MiB write buffers, three of them, universal compaction,
 * no compression, a bloom filter per SST file, WAL off): the lookup of a new id, which misses.
 * {@code memtableFilter}: the store's memtables also get a bloom filter over whole keys (a tenth of
 * their size), which the gateway does not set (docs/benchmarks.md, Microbenchmarks). The store holds
 * 400,000 ids in SST files and the 60,000 after them in its memtable (the ids of the last seconds);
 * ids are time-ordered, as invocation ids are (UUIDv7), with the attempt after them, so a new id
 * sorts after every stored one and RocksDB rules the files out by their key range before their
 * bloom filters; the memtable is where a miss costs. Writes are left out: flushes and compactions
 * in the background would make the figure a measure of the machine.
 * The RocksDB version is the one on the classpath (Kafka Streams').
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class DedupeStore {
  private static final int IN_FILES = 400_000;
  private static final int IN_MEMTABLE = 60_000;

  @Param({"true", "false"})
  public boolean memtableFilter;

  private Path dir;
  private Options options;
  private LRUCache cache;
  private BloomFilter filter;
  private WriteOptions write;
  private RocksDB db;
  private final byte[] key = "0193f0a1-7c2e-7000-8000-000000000000:1".getBytes(StandardCharsets.US_ASCII);
  private final byte[] value = new byte[110];
  private long next;

  @Setup(Level.Trial)
  public void setUp() throws IOException, RocksDBException {
    RocksDB.loadLibrary();
    dir = Files.createTempDirectory("dedupe-store");
    cache = new LRUCache(50L * 1024 * 1024);
    filter = new BloomFilter();
    options = new Options().setCreateIfMissing(true).setWriteBufferSize(16L * 1024 * 1024).setMaxWriteBufferNumber(3)
        .setCompactionStyle(CompactionStyle.UNIVERSAL).setCompressionType(CompressionType.NO_COMPRESSION)
        .setTableFormatConfig(new BlockBasedTableConfig().setBlockCache(cache).setBlockSize(4096).setFilterPolicy(filter));
    if (memtableFilter) options.setMemtablePrefixBloomSizeRatio(0.1).setMemtableWholeKeyFiltering(true);
    write = new WriteOptions().setDisableWAL(true);
    db = RocksDB.open(options, dir.toString());
    for (int i = 0; i < IN_FILES; i++) remember();
    try (FlushOptions flush = new FlushOptions().setWaitForFlush(true)) {
      db.flush(flush);
    }
    db.compactRange();
    for (int i = 0; i < IN_MEMTABLE; i++) remember();
  }

  private void remember() throws RocksDBException {
    nextKey();
    db.put(write, key, value);
  }

  /** A new usage record's id looked up: it is not there. */
  @Benchmark
  public boolean lookupMiss() throws RocksDBException {
    nextKey();
    return db.get(key) != null;
  }

  /** The next id: its last 12 hex digits before ":1" count up, so ids stay in time order. */
  private void nextKey() {
    long n = next++;
    for (int i = key.length - 3; i >= key.length - 14; i--) {
      key[i] = (byte) Character.forDigit((int) (n & 0xf), 16);
      n >>>= 4;
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() throws IOException {
    db.close();
    write.close();
    options.close();
    filter.close();
    cache.close();
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path f : files.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(f);
    }
  }
}
