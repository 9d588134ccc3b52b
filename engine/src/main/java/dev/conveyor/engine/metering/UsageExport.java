package dev.conveyor.engine.metering;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.conveyor.engine.config.ConveyorConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
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
 * file a billing system can load. CSV has one row per record with the usage record's fields; JSON is an
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

  /**
   * Writes the export to {@code out} (created; an existing file only with {@code force}) or to
   * {@code stdout}. The command line parsed and checked the arguments.
   *
   * @return the exit code: 0 done, 2 {@code out} exists (without {@code force}) or a bad range, 1 the
   *     file could not be written, 4 Kafka could not be read
   */
  public static int run(ConveyorConfig config, String bootstrap, Instant from, Instant to, String format, String tenant,
      Path out, boolean force, Writer stdout, PrintWriter err) {
    if (!from.isBefore(to)) {
      err.println("conveyor: --from must be before --to");
      return 2;
    }
    String topic = config.kafka().topicPrefix() + "usage";
    // Written beside --out and moved onto it once complete: a failed export leaves the old file as it was.
    Path part = null;
    Writer w;
    try {
      if (out != null && !force && Files.exists(out)) throw new FileAlreadyExistsException(out.toString());
      if (out != null) {
        Path dir = out.toAbsolutePath().getParent();
        part = Files.createTempFile(dir, "." + out.getFileName(), ".part");
      }
      w = out == null ? stdout : Files.newBufferedWriter(part, StandardCharsets.UTF_8);
    } catch (FileAlreadyExistsException e) {
      err.println("conveyor: " + out + " exists: give --force to overwrite it, or another --out");
      return 2;
    } catch (IOException e) {
      err.println("conveyor: cannot write " + out + ": " + e.getClass().getSimpleName() + " " + e.getMessage());
      return 1;
    }
    try {
      long n = export(bootstrap, topic, from, to, tenant, format, w);
      w.flush();
      if (part != null) {
        w.close();
        if (force) Files.move(part, out, StandardCopyOption.REPLACE_EXISTING);
        else Files.move(part, out);
        part = null;
      }
      err.printf("conveyor: exported %d usage records of [%s, %s)%s%n", n, from, to, out == null ? "" : " to " + out);
      return 0;
    } catch (FileAlreadyExistsException e) {
      err.println("conveyor: " + out + " appeared while exporting: give --force to overwrite it, or another --out");
      return 2;
    } catch (IOException e) {
      err.println("conveyor: could not write the export: " + e.getMessage());
      return 1;
    } catch (org.apache.kafka.common.KafkaException e) {
      err.println("conveyor: could not read " + topic + " at " + bootstrap + " (" + String.valueOf(e.getMessage()).replaceAll("\\s*\\R\\s*", "; ")
          + "): is the gateway's Kafka running? Check KAFKA_BOOTSTRAP_SERVERS or CONVEYOR_CONFIG");
      return 4;
    } finally {
      if (part != null) {
        try {
          w.close();
          Files.deleteIfExists(part);
        } catch (IOException e) {
          // a leftover .part file is harmless
        }
      }
    }
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
