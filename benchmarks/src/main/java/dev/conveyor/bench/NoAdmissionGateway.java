package dev.conveyor.bench;

import dev.conveyor.engine.Conveyor;
import dev.conveyor.engine.config.ConfigLoader;
import java.nio.file.Path;
import java.util.Map;

/**
 * The admission benchmark's baseline: the gateway as {@code bin/conveyor up} runs it, but started
 * with {@code Runtime.withAdmissionChecksOffForBenchmark} (no authentication, no quotas). It lives
 * here, not in the engine: nothing an operator runs can turn the checks off.
 */
public final class NoAdmissionGateway {
  public static void main(String[] args) throws Exception {
    Map<String, String> env = System.getenv();
    Conveyor gateway = Conveyor.start(ConfigLoader.load(Path.of(env.get("CONVEYOR_CONFIG")), env),
        new Conveyor.Runtime(Path.of(env.get("CONVEYOR_DATA_DIR")), 9092).withAdmissionChecksOffForBenchmark());
    Runtime.getRuntime().addShutdownHook(new Thread(gateway::close));
    Thread.currentThread().join(); // until the harness stops it
  }

  private NoAdmissionGateway() {}
}
