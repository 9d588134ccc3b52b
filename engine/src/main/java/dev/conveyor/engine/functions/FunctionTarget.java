package dev.conveyor.engine.functions;

import dev.conveyor.engine.config.ConveyorConfig.BreakerSpec;
import dev.conveyor.engine.config.ConveyorConfig.Delivery;
import java.net.URI;

/** Where a function runs and how it is delivered to; resolved once per request. */
public record FunctionTarget(String namespace, String name, URI url, int memoryMiB, int concurrency, Delivery delivery,
    BreakerSpec breaker, String revision) {}
