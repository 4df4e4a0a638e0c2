package dev.ditj.cli;

import dev.ditj.DitjException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code ditj} command line: a thin layer over {@link dev.ditj.api}. */
@Command(name = "ditj", mixinStandardHelpOptions = true, version = "ditj 0.1.0",
        description = "DiT image generation on the JVM.",
        subcommands = {GenerateCommand.class, ConvertCommand.class, InfoCommand.class, ForwardCommand.class, BenchCommand.class,
                DecodeCommand.class, CommandLine.HelpCommand.class})
public final class Main {

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs a command line and returns its exit code (0 ok, 1 error the user can fix, 2 usage error). */
    public static int run(String... args) {
        CommandLine cli = new CommandLine(new Main());
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            Throwable t = e;
            while (!(t instanceof DitjException) && t.getCause() != null && t.getCause() != t) t = t.getCause();
            if (t instanceof DitjException) {
                cmd.getErr().println("ditj: error: " + t.getMessage());
                return 1;
            }
            throw e;
        });
        try {
            return cli.execute(args);
        } catch (OutOfMemoryError e) {
            // Heap (activations) or direct memory (weights): the JVM's message says which.
            System.err.println("ditj: error: out of memory (" + e.getMessage() + "); use a smaller batch, or raise "
                    + "the JVM's limits, e.g. DITJ_JAVA_OPTS=\"-Xmx16g -XX:MaxDirectMemorySize=16g\"");
            return 1;
        }
    }
}
