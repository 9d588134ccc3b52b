package dev.conveyor.engine.testing;

import dev.conveyor.engine.kafka.EmbeddedKafka;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * One real KRaft broker for the integration tests of this JVM, started on first use. Test classes
 * keep apart by topic prefix and consumer group, not by broker, so the suite pays the start once.
 */
public final class TestKafka {
  private static EmbeddedKafka broker;

  private TestKafka() {}

  public static synchronized String bootstrap() {
    if (broker == null) {
      try {
        Path dir = Files.createTempDirectory("conveyor-it-kafka");
        broker = new EmbeddedKafka(dir, Ports.free()).start();
        EmbeddedKafka b = broker;
        Runtime.getRuntime().addShutdownHook(new Thread(b::close));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return broker.bootstrapServers();
  }
}
