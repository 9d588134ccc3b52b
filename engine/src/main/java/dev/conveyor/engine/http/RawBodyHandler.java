package dev.conveyor.engine.http;

import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.RoutingContext;

/**
 * Reads the request body as the bytes it is, whatever its content type (Vert.x' BodyHandler parses
 * multipart and form bodies and does not keep them, but a payload goes to the function as-is).
 * Refuses with 413 as soon as a declared or streamed length passes the limit, without buffering it.
 */
public final class RawBodyHandler implements Handler<RoutingContext> {
  private static final String KEY = "conveyor.body";
  private final java.util.function.ToIntFunction<RoutingContext> limitOf;

  /** @param limitOf the limit for this request (the caller's tenant's), read when the request arrives */
  public RawBodyHandler(java.util.function.ToIntFunction<RoutingContext> limitOf) {
    this.limitOf = limitOf;
  }

  public static Buffer body(RoutingContext ctx) {
    Buffer b = ctx.get(KEY);
    return b == null ? Buffer.buffer() : b;
  }

  @Override
  public void handle(RoutingContext ctx) {
    HttpServerRequest req = ctx.request();
    int limit = limitOf.applyAsInt(ctx);
    if (req.isEnded()) {
      ctx.put(KEY, Buffer.buffer());
      ctx.next();
      return;
    }
    int initial = 256;
    String declared = req.getHeader("content-length");
    if (declared != null) {
      long n;
      try {
        n = Long.parseLong(declared.trim());
      } catch (NumberFormatException e) {
        ctx.fail(400);
        return;
      }
      if (n > limit) {
        ctx.fail(413);
        return;
      }
      initial = (int) Math.max(0, n);
    }
    Buffer body = Buffer.buffer(initial);
    boolean[] refused = {false};
    req.handler(chunk -> {
      if (refused[0]) return;
      if (body.length() + chunk.length() > limit) {
        refused[0] = true;
        ctx.fail(413);
        return;
      }
      body.appendBuffer(chunk);
    });
    req.endHandler(v -> {
      if (refused[0]) return;
      ctx.put(KEY, body);
      ctx.next();
    });
    req.resume();
  }
}
