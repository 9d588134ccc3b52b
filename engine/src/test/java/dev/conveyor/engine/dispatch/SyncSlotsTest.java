package dev.conveyor.engine.dispatch;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class SyncSlotsTest {
  private final Vertx vertx = Vertx.vertx();
  private final Map<String, Integer> functionMax = new ConcurrentHashMap<>(Map.of("acme/a", 10, "acme/b", 10));
  private final AtomicInteger asyncRunning = new AtomicInteger();
  private final AtomicInteger elsewhere = new AtomicInteger();
  private final SyncSlots slots = new SyncSlots(dev.conveyor.engine.time.Time.system(vertx));
  private final io.vertx.core.Context context = vertx.getOrCreateContext();

  SyncSlotsTest() {
    slots.bind(context, new SyncSlots.Ledger() {
      @Override
      public int tenantMax(String tenant) {
        return 2;
      }

      @Override
      public int functionMax(String function) {
        return functionMax.get(function);
      }

      @Override
      public int asyncRunning(String tenant) {
        return asyncRunning.get();
      }

      @Override
      public int asyncRunningFunction(String function) {
        return 0;
      }

      @Override
      public int elsewhere(String tenant) {
        return elsewhere.get();
      }
    }, () -> {});
  }

  @AfterEach
  void close() {
    vertx.close();
  }

  /** Every decision asked for so far has been taken (they run in order on the slots' context). */
  private void flush() throws Exception {
    get(Future.<Void>future(p -> context.runOnContext(v -> p.complete())));
  }

  private static <T> T get(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
  }

  @Test
  void shouldCountAsyncHereAndEverythingElsewhereAgainstTheTenantsLimit() throws Exception {
    asyncRunning.set(1);
    elsewhere.set(1);
    Future<SyncSlots.Permit> waiting = slots.acquire("acme", "acme/a", 60_000);
    flush();
    assertThat(waiting.isComplete()).as("1 async here + 1 elsewhere = maxConcurrency 2").isFalse();
    asyncRunning.set(0);
    slots.release(new SyncSlots.Permit("nobody", "x/y")); // any release makes it look again
    assertThat(get(waiting)).isEqualTo(new SyncSlots.Permit("acme", "acme/a"));
  }

  @Test
  void shouldRefuseACallThatFindsNoRoomWithinItsWait() throws Exception {
    get(slots.acquire("acme", "acme/a", 1000));
    get(slots.acquire("acme", "acme/a", 1000));
    Future<SyncSlots.Permit> third = slots.acquire("acme", "acme/a", 50);
    try {
      get(third);
      throw new AssertionError("a third call had room");
    } catch (ExecutionException e) {
      assertThat(e.getCause()).isInstanceOf(SyncSlots.NoRoom.class);
      assertThat(((SyncSlots.NoRoom) e.getCause()).tenantFull).isTrue();
    }
  }

  @Test
  void shouldLetACallWhoseFunctionHasRoomPassOneWhoseFunctionIsFull() throws Exception {
    functionMax.put("acme/a", 1);
    SyncSlots.Permit a = get(slots.acquire("acme", "acme/a", 1000));
    Future<SyncSlots.Permit> secondA = slots.acquire("acme", "acme/a", 5000);
    flush();
    SyncSlots.Permit b = get(slots.acquire("acme", "acme/b", 1000));
    assertThat(b.function()).as("no head-of-line blocking inside the tenant").isEqualTo("acme/b");
    assertThat(secondA.isComplete()).isFalse();
    slots.release(a);
    slots.release(b);
    assertThat(get(secondA).function()).isEqualTo("acme/a");
  }

  @Test
  void shouldStartAWaitingCallWhenRoomComesFreeElsewhereWithoutAnyEventHere() throws Exception {
    elsewhere.set(2); // the tenant's two slots run on another replica
    Future<SyncSlots.Permit> waiting = slots.acquire("acme", "acme/a", 10_000);
    flush();
    assertThat(waiting.isComplete()).isFalse();
    elsewhere.set(1); // one of them ended there: the status topic told, nothing happened here
    assertThat(get(waiting).function()).isEqualTo("acme/a");
  }

  @Test
  void shouldHoldATenantSlotBackOnlyForACallWaitingForTheTenant() throws Exception {
    functionMax.put("acme/a", 1);
    get(slots.acquire("acme", "acme/a", 1000));
    slots.acquire("acme", "acme/a", 5000); // waits for its function, not for the tenant
    flush();
    assertThat(get(Future.<Boolean>future(p -> context.runOnContext(v -> p.complete(slots.waitingForTenant("acme"))))))
        .as("a call waiting for its function holds no tenant slot back").isFalse();
  }
}
