package dev.conveyor.engine.tenancy;

import dev.conveyor.config.ConfigException;
import dev.conveyor.engine.config.ConfigLoader;
import dev.conveyor.engine.config.ConveyorConfig;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Re-reads the config file when it changes (its modification time and size, checked every
 * {@code everyMs} with Vert.x' non-blocking file system) and hands the new config to
 * {@code onChange}. A file that no longer validates is refused with its one-line error and the
 * running config stays. Audited: every reload and every refusal goes to {@code conveyor.audit}.
 */
public final class ConfigWatcher implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ConfigWatcher.class);
  private static final Logger AUDIT = LoggerFactory.getLogger("conveyor.audit");

  private final Vertx vertx;
  private final dev.conveyor.engine.time.Time time;
  private final Path file;
  private final Map<String, String> env;
  private final Consumer<ConveyorConfig> onChange;
  private final long timer;
  private String seen;
  private boolean checking;

  public ConfigWatcher(Vertx vertx, dev.conveyor.engine.time.Time time, Path file, Map<String, String> env, long everyMs, Consumer<ConveyorConfig> onChange) {
    this.vertx = vertx;
    this.time = time;
    this.file = file;
    this.env = env;
    this.onChange = onChange;
    this.seen = stamp();
    this.timer = time.setPeriodic(everyMs, this::check);
  }

  private String stamp() {
    try {
      var a = java.nio.file.Files.readAttributes(file, java.nio.file.attribute.BasicFileAttributes.class);
      return a.lastModifiedTime().toMillis() + ":" + a.size();
    } catch (java.io.IOException e) {
      return "missing";
    }
  }

  private void check() {
    if (checking) return;
    checking = true;
    vertx.fileSystem().props(file.toString()).compose(props -> {
      String now = props.lastModifiedTime() + ":" + props.size();
      if (now.equals(seen)) return io.vertx.core.Future.succeededFuture();
      seen = now;
      return vertx.fileSystem().readFile(file.toString()).map(buf -> {
        try {
          ConveyorConfig next = ConfigLoader.parse(buf.toString(), env);
          onChange.accept(next);
          AUDIT.info("config reloaded from {}: {} tenants", file, next.tenants().size());
        } catch (ConfigException e) {
          AUDIT.warn("config change in {} refused, the running config stays: {}", file, e.getMessage());
        }
        return null;
      });
    }).onComplete(ar -> {
      checking = false;
      if (ar.failed()) LOG.warn("checking {} for changes: {}", file, ar.cause().toString());
    });
  }

  @Override
  public void close() {
    time.cancelTimer(timer);
  }
}
