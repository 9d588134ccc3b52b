package dev.conveyor.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class LifecycleTest {
  private final List<String> stopped = new ArrayList<>();

  private AutoCloseable part(String name) {
    return () -> stopped.add(name);
  }

  @Test
  void stopsInReverseOrderOfStart() {
    Lifecycle l = new Lifecycle();
    l.add("broker", part("broker"));
    l.add("producer", part("producer"));
    l.add("dispatcher", part("dispatcher"));
    l.close();
    assertThat(stopped).containsExactly("dispatcher", "producer", "broker");
  }

  @Test
  void oneThatFailsToStopDoesNotKeepTheRestRunning() {
    Lifecycle l = new Lifecycle();
    l.add("broker", part("broker"));
    l.add("broken", () -> {
      throw new IllegalStateException("cannot stop");
    });
    l.add("api", part("api"));
    l.close();
    assertThat(stopped).containsExactly("api", "broker");
  }

  @Test
  void aSecondCloseStopsNothingTwice() {
    Lifecycle l = new Lifecycle();
    AutoCloseable p = l.add(part("producer"));
    assertThat(p).isNotNull();
    l.close();
    l.close();
    assertThat(stopped).containsExactly("producer");
  }
}
