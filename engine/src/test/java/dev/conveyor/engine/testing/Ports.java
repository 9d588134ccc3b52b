package dev.conveyor.engine.testing;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Ports for the servers a test starts and restarts (a gateway process, a broker it kills and brings
 * back), picked below the kernel's ephemeral range.
 *
 * <p>A port found by binding port 0 lies in {@code net.ipv4.ip_local_port_range} (32768-60999 by
 * default), the range Linux also draws the local port of every outgoing connection from. Between
 * the probe and the bind of the process the port was picked for, or between a SIGKILL and the
 * restart on the same port, any client connection of the suite (Kafka clients open many) may take
 * it, and the process fails to bind. Below the range a port is only taken by someone binding it:
 * this class hands each port out once per JVM, from a random start so that JVMs rarely meet.
 */
public final class Ports {
  private static final int LOWEST = 10_000;
  private static final int BELOW = ephemeralLow();
  private static int next = LOWEST + ThreadLocalRandom.current().nextInt(BELOW - LOWEST);

  private Ports() {}

  /** {@code n} distinct ports, each free when probed and never handed out before by this JVM. */
  public static synchronized int[] free(int n) {
    int[] ports = new int[n];
    for (int i = 0; i < n; i++) ports[i] = one();
    return ports;
  }

  public static synchronized int free() {
    return one();
  }

  private static int one() {
    for (int tries = 0; tries < BELOW - LOWEST; tries++) {
      int port = next;
      next = next + 1 < BELOW ? next + 1 : LOWEST;
      if (bindable(port)) return port;
    }
    throw new IllegalStateException("no free port in " + LOWEST + "-" + (BELOW - 1));
  }

  private static boolean bindable(int port) {
    // The wildcard address: the gateway's listeners bind it, and it conflicts with a loopback bind too.
    try (ServerSocket s = new ServerSocket()) {
      s.setReuseAddress(true); // as the servers bind: a port in TIME_WAIT from an earlier run is usable
      s.bind(new InetSocketAddress(port));
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static int ephemeralLow() {
    try {
      String range = Files.readString(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).trim();
      int low = Integer.parseInt(range.split("\\s+")[0]);
      return low > LOWEST + 1_000 ? low : 32_768;
    } catch (IOException | RuntimeException e) {
      return 32_768; // not Linux: its default
    }
  }
}
