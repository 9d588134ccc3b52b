package dev.conveyor.engine.cli;

/** A command's failure: one line for stderr (without the "conveyor: " prefix) and the exit code. */
final class CliException extends RuntimeException {
  final int exitCode;

  CliException(int exitCode, String message) {
    super(message, null, false, false);
    this.exitCode = exitCode;
  }
}
