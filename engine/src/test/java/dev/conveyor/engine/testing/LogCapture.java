package dev.conveyor.engine.testing;

import io.vertx.core.json.JsonObject;
import java.io.StringWriter;
import java.util.List;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.StringLayout;
import org.apache.logging.log4j.core.appender.WriterAppender;

/** Captures what the process logs, through the same JSON layout as stdout, one object per line. */
public final class LogCapture implements AutoCloseable {
  private final StringWriter out = new StringWriter();
  private final LoggerContext context = (LoggerContext) LogManager.getContext(false);
  private final WriterAppender appender;

  public LogCapture() {
    var cfg = context.getConfiguration();
    StringLayout layout = (StringLayout) cfg.getAppender("stdout").getLayout();
    appender = WriterAppender.newBuilder().setName("capture-" + System.nanoTime()).setTarget(out).setLayout(layout).build();
    appender.start();
    cfg.addAppender(appender);
    cfg.getRootLogger().addAppender(appender, Level.INFO, null);
    context.updateLoggers();
  }

  /** Every captured line, parsed (each must be a JSON object). */
  public synchronized List<JsonObject> lines() {
    return out.toString().lines().filter(l -> !l.isBlank()).map(JsonObject::new).toList();
  }

  public String text() {
    return out.toString();
  }

  @Override
  public void close() {
    context.getConfiguration().getRootLogger().removeAppender(appender.getName());
    context.updateLoggers();
    appender.stop();
  }
}
