package dev.conveyor.engine.metering;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.conveyor.engine.config.ConveyorConfig;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * {@code bin/conveyor usage export --from <instant> --to <instant> [--format csv|json] [--tenant t]
 * [--out file]}: the usage records (and corrections) whose {@code time} is in {@code [from, to)},
 * read from {@code conveyor.usage} itself, each id once (the first, as the rollups count it), in a
 * file a billing system can load. CSV has one row per record with the SPEC §7 fields; JSON is an
 * array of the CloudEvents as stored. A progress bar on stderr; the data on stdout or in
 * {@code --out}. Reading starts at the offsets of {@code from} (a record is written after its
 * attempt ends, so none of the range is before them) and stops at the end the topic had at start.
 */
public final class UsageExport {
  static final List<String> COLUMNS = List.of("type", "id", "time", "tenant", "namespace", "function", "revision", "invocationId",
      "attempt", "mode", "trigger", "outcome", "httpStatus", "durationMs", "billedDurationMs", "coldStart", "coldStartMs",
      "queueWaitMs", "memoryMiB", "gibSeconds", "requestBytes", "responseBytes", "originalId", "action");
  private static final ObjectMapper JSON = new ObjectMapper();

  private UsageExport() {}

  /** @return the exit code: 0 done, 2 bad arguments, 1 Kafka unreachable */
  public static int run(String[] args, ConveyorConfig config, String bootstrap) {
    Map<String, String> a = new HashMap<>();
    for (int i = 2; i + 1 < args.length; i += 2) a.put(args[i], args[i + 1]);
    if (args.length < 2 || !args[1].equals("export") || (args.length - 2) % 2 != 0) return usage("expected: usage export --from ... --to ...");
    Instant from;
    Instant to;
    try {
      from = Instant.parse(a.getOrDefault("--from", ""));
      to = Instant.parse(a.getOrDefault("--to", ""));
    } catch (DateTimeParseException e) {
      return usage("--from and --to are RFC 3339 instants, such as 2026-11-01T00:00:00Z");
    }
    if (!from.isBefore(to)) return usage("--from must be before --to");
    String format = a.getOrDefault("--format", "csv");
    if (!format.equals("csv") && !format.equals("json")) return usage("--format is csv or json");
    String tenant = a.get("--tenant");
    String topic = config.kafka().topicPrefix() + "usage";
    try (Writer out = a.containsKey("--out")
        ? Files.newBufferedWriter(Path.of(a.get("--out")), StandardCharsets.UTF_8)
        : new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8))) {
      long n = export(bootstrap, topic, from, to, tenant, format, out);
      out.flush();
      System.err.printf("conveyor: exported %d usage records of [%s, %s)%n", n, from, to);
      return 0;
    } catch (IOException e) {
      System.err.println("conveyor: could not write the export: " + e.getMessage());
      return 1;
    } catch (org.apache.kafka.common.KafkaException e) {
      System.err.println("conveyor: could not read " + topic + " at " + bootstrap + ": " + e.getMessage());
      return 1;
    }
  }

  private static int usage(String problem) {
    System.err.println("conveyor: " + problem + "\nusage: bin/conveyor usage export --from <instant> --to <instant> "
        + "[--format csv|json] [--tenant <name>] [--out <file>]");
    return 2;
  }

  public static long export(String bootstrap, String topic, Instant from, Instant to, String tenant, String format, Writer out)
      throws IOException {
    Map<String, Object> props = Map.of("bootstrap.servers", bootstrap, "enable.auto.commit", "false",
        "isolation.level", "read_committed", "client.id", "conveyor-usage-export", "max.poll.records", "5000",
        "default.api.timeout.ms", "30000");
    long written = 0;
    try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> parts = new ArrayList<>();
      c.partitionsFor(topic, Duration.ofSeconds(30)).forEach(p -> parts.add(new TopicPartition(topic, p.partition())));
      c.assign(parts);
      Map<TopicPartition, Long> end = new HashMap<>(c.endOffsets(parts));
      Map<TopicPartition, Long> timestamps = new HashMap<>();
      parts.forEach(p -> timestamps.put(p, from.toEpochMilli()));
      Map<TopicPartition, OffsetAndTimestamp> start = c.offsetsForTimes(timestamps);
      long total = 0;
      for (TopicPartition p : parts) {
        OffsetAndTimestamp o = start.get(p);
        long s = o == null ? end.get(p) : o.offset();
        c.seek(p, s);
        total += end.get(p) - s;
      }
      end.entrySet().removeIf(e -> c.position(e.getKey()) >= e.getValue());
      Set<String> seen = new HashSet<>();
      if (format.equals("csv")) out.write(String.join(",", COLUMNS) + "\n");
      else out.write("[");
      try (ProgressBar bar = new ProgressBarBuilder().setTaskName("exporting").setInitialMax(total).setStyle(ProgressBarStyle.ASCII)
          .setConsumer(new ConsoleProgressBarConsumer(System.err)).build()) {
        while (!end.isEmpty()) {
          for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(500))) {
            TopicPartition tp = new TopicPartition(r.topic(), r.partition());
            Long stop = end.get(tp);
            if (stop == null || r.offset() >= stop) continue;
            bar.step();
            if (r.offset() + 1 >= stop) end.remove(tp);
            JsonNode ce;
            try {
              ce = JSON.readTree(r.value());
            } catch (IOException e) {
              continue;
            }
            if (ce == null || !ce.hasNonNull("id") || !ce.hasNonNull("time")) continue;
            Instant time;
            try {
              time = Instant.parse(ce.get("time").asText());
            } catch (DateTimeParseException e) {
              continue;
            }
            if (time.isBefore(from) || !time.isBefore(to)) continue;
            if (tenant != null && !tenant.equals(ce.path("data").path("tenant").asText())) continue;
            if (!seen.add(ce.path("source").asText() + "|" + ce.get("id").asText())) continue;
            if (format.equals("csv")) {
              out.write(csv(ce));
            } else {
              if (written > 0) out.write(",");
              out.write("\n" + ce);
            }
            written++;
          }
          for (var it = end.entrySet().iterator(); it.hasNext(); ) {
            var e = it.next();
            if (c.position(e.getKey()) >= e.getValue()) it.remove();
          }
        }
      }
      if (format.equals("json")) out.write("\n]\n");
    }
    return written;
  }

  static String csv(JsonNode ce) {
    JsonNode d = ce.path("data");
    StringBuilder b = new StringBuilder();
    for (String col : COLUMNS) {
      if (b.length() > 0) b.append(',');
      JsonNode v = switch (col) {
        case "type", "id", "time" -> ce.path(col);
        default -> d.path(col);
      };
      if (v.isMissingNode() || v.isNull()) continue;
      String s = v.asText();
      if (s.contains(",") || s.contains("\"") || s.contains("\n")) s = '"' + s.replace("\"", "\"\"") + '"';
      b.append(s);
    }
    return b.append('\n').toString();
  }
}
