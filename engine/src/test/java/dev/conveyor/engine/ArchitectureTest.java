package dev.conveyor.engine;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

/**
 * The engine's package structure, read from its bytecode: no two packages depend on each other,
 * directly or through others, and the shared ways of consuming a topic sit below every package that
 * consumes one; and time is read in one place.
 */
@AnalyzeClasses(packages = "dev.conveyor.engine", importOptions = ImportOption.DoNotIncludeTests.class)
class ArchitectureTest {
  @ArchTest
  static final ArchRule noPackageCycles = slices().matching("dev.conveyor.engine.(*)..").should().beFreeOfCycles();

  @ArchTest
  static final ArchRule consumingATopicKnowsNothingOfItsUsers = noClasses().that().resideInAPackage("dev.conveyor.engine.consume..")
      .should().dependOnClassesThat().resideInAnyPackage("dev.conveyor.engine.dispatch..", "dev.conveyor.engine.callback..",
          "dev.conveyor.engine.http..", "dev.conveyor.engine.connect..");

  @ArchTest
  static final ArchRule theStatusStoreKnowsNothingOfTheQueue = noClasses().that().resideInAPackage("dev.conveyor.engine.status..")
      .should().dependOnClassesThat().resideInAPackage("dev.conveyor.engine.queue..");

  /**
   * The HTTP edge admits and hands over: it runs no attempt (no invoker, attempt path, breaker or
   * backoff) and reads no Kafka type; what a failed write means comes from {@code StoreFailure}.
   */
  @ArchTest
  static final ArchRule theEdgeAdmitsAndHandsOver = noClasses().that().resideInAPackage("dev.conveyor.engine.http..")
      .should().dependOnClassesThat().resideInAnyPackage("org.apache.kafka..", "dev.conveyor.engine.breaker..",
          "dev.conveyor.engine.consume..", "io.github.resilience4j..")
      .orShould().dependOnClassesThat().haveSimpleName("AttemptPath")
      .orShould().dependOnClassesThat().haveSimpleName("Invoker")
      .orShould().dependOnClassesThat().haveSimpleName("HttpInvoker")
      .because("an attempt run from a request handler is an attempt the delivery core cannot see or test");

  /** Time comes from {@code Time} alone, so one test clock drives every expiry, backoff, window and deadline. */
  @ArchTest
  static final ArchRule timeComesFromOnePlace = noClasses().that().resideOutsideOfPackage("dev.conveyor.engine.time..")
      .should().callMethod(System.class, "nanoTime")
      .orShould().callMethod(System.class, "currentTimeMillis")
      .orShould().callMethod(java.time.Instant.class, "now")
      .orShould().callMethod(java.time.Clock.class, "systemUTC")
      .orShould().callMethod(java.time.Clock.class, "systemDefaultZone")
      .orShould().accessField(io.github.bucket4j.TimeMeter.class, "SYSTEM_NANOTIME")
      .orShould().accessField(io.github.bucket4j.TimeMeter.class, "SYSTEM_MILLISECONDS")
      .orShould().callMethod(com.github.benmanes.caffeine.cache.Ticker.class, "systemTicker")
      .because("a clock read anywhere else cannot be moved by a test");

  /** Vert.x, JDK and Kafka futures meet in one bridge, {@code Futures}, as does every blocking wait on a Kafka future. */
  @ArchTest
  static final ArchRule futuresMeetInOnePlace = noClasses().that().resideOutsideOfPackage("dev.conveyor.engine.futures..")
      .should().callMethodWhere(com.tngtech.archunit.core.domain.JavaCall.Predicates.target(
          com.tngtech.archunit.base.DescribedPredicate.describe("a conversion between future types",
              (com.tngtech.archunit.core.domain.AccessTarget.CodeUnitCallTarget t) ->
                  (t.getOwner().isAssignableTo(io.vertx.core.Future.class)
                      && java.util.Set.of("toCompletionStage", "fromCompletionStage").contains(t.getName()))
                  || (t.getOwner().isAssignableTo(org.apache.kafka.common.KafkaFuture.class)
                      && java.util.Set.of("toCompletionStage", "get", "whenComplete").contains(t.getName())))))
      .because("one bridge keeps the conversions, and what a failed or timed-out wait says, the same everywhere");

  /** Timers too: set through {@code Time}, so a test clock fires them (the sample functions' simulated work aside). */
  @ArchTest
  static final ArchRule timersComeFromOnePlace = noClasses().that().resideOutsideOfPackages("dev.conveyor.engine.time..",
          "dev.conveyor.engine.samples..")
      .should().callMethodWhere(com.tngtech.archunit.core.domain.JavaCall.Predicates.target(
          com.tngtech.archunit.base.DescribedPredicate.describe("a Vert.x timer",
              (com.tngtech.archunit.core.domain.AccessTarget.CodeUnitCallTarget t) ->
                  t.getOwner().isAssignableTo(io.vertx.core.Vertx.class)
                      && java.util.Set.of("setTimer", "setPeriodic", "cancelTimer", "timer").contains(t.getName()))))
      .because("a timer set anywhere else cannot be fired by a test");
}
