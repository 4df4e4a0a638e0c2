package dev.ditj.cli;

import dev.ditj.DitjException;
import dev.ditj.InvalidArgumentException;
import dev.ditj.Version;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.ScopeType;

import java.io.PrintWriter;
import java.util.Map;

/**
 * The {@code ditj} command line: a thin layer over {@link dev.ditj.api}. Every error ends in one line on stderr:
 * exit code 2 for usage errors (bad options or option values, caught before work starts), 1 for everything else;
 * a stack trace only with {@code --debug}.
 */
@Command(name = "ditj", mixinStandardHelpOptions = true, versionProvider = Main.VersionProvider.class,
        description = "DiT image generation on the JVM.",
        subcommands = {GenerateCommand.class, ConvertCommand.class, InfoCommand.class, ForwardCommand.class, BenchCommand.class,
                DecodeCommand.class, EncodeCommand.class, ReconstructCommand.class, CommandLine.HelpCommand.class})
public final class Main {
    static final int OK = 0, FAILED = 1, USAGE = 2;

    /** API argument names ({@link InvalidArgumentException#argument()}) as the options users type. */
    private static final Map<String, String> OPTION_NAMES = Map.ofEntries(
            Map.entry("classes", "--class"), Map.entry("class", "--class"), Map.entry("backend", "--backend"), Map.entry("dtype", "--dtype"), Map.entry("precision", "--precision"), Map.entry("steps", "--steps"), Map.entry("sampler", "--sampler"),
            Map.entry("respacing", "--respacing"), Map.entry("cfgScale", "--cfg-scale"),
            Map.entry("guidedChannels", "--cfg-channels"), Map.entry("ddimEta", "--eta"),
            Map.entry("initialNoise", "--noise"), Map.entry("stepNoise", "--step-noise"),
            Map.entry("guidanceInterval", "--guidance-interval"), Map.entry("timeShift", "--time-shift"),
            Map.entry("guideScale", "--guide-scale"),
            Map.entry("batchSize", "--batch-size"), Map.entry("outDir", "--out-dir"), Map.entry("images", "--images"),
            Map.entry("strength", "--strength"), Map.entry("initImage", "--init-image"), Map.entry("mask", "--mask"));

    @Option(names = "--debug", scope = ScopeType.INHERIT, description = "print the stack trace of an error")
    boolean debug;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs a command line and returns its exit code (0 ok, 1 error, 2 usage error). */
    public static int run(String... args) {
        CommandLine cli = new CommandLine(new Main());
        cli.setParameterExceptionHandler((e, a) -> {
            CommandLine cmd = e.getCommandLine();
            cmd.getErr().println("ditj: error: " + oneLine(e.getMessage()) + " (see: " + cmd.getCommandSpec().qualifiedName()
                    + " --help)");
            return USAGE;
        });
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> report(e, cmd.getErr(), debug(parsed)));
        try {
            return cli.execute(args);
        } catch (Error e) {
            // Errors (out of memory, stack overflow) pass picocli's handler; they still get one line.
            PrintWriter err = cli.getErr();
            boolean debug = false;
            for (String a : args) debug |= a.equals("--debug");
            return report(e, err, debug);
        }
    }

    private static boolean debug(ParseResult parsed) {
        for (ParseResult p = parsed; p != null; p = p.subcommand()) {
            if (p.hasMatchedOption("--debug")) return true;
        }
        return false;
    }

    private static int report(Throwable e, PrintWriter err, boolean debug) {
        if (debug) e.printStackTrace(err);
        Throwable t = e;
        while (!(t instanceof DitjException) && t.getCause() != null && t.getCause() != t) t = t.getCause();
        int code;
        String message;
        if (t instanceof UsageException) {
            message = t.getMessage();
            code = USAGE;
        } else if (t instanceof InvalidArgumentException ia) {
            String option = OPTION_NAMES.get(ia.argument());
            message = option != null ? option + " " + ia.problem() : ia.getMessage();
            code = USAGE;
        } else if (t instanceof DitjException) {
            message = t.getMessage();
            code = FAILED;
        } else if (e instanceof OutOfMemoryError) {
            // Heap (activations) or direct memory (CPU weights): the JVM's message says which.
            message = String.format("out of memory (%s; Java heap %.1f GB max); use a smaller --batch-size or raise "
                    + "the JVM's limits with DITJ_JAVA_OPTS=\"-Xmx<size> -XX:MaxDirectMemorySize=<size>\"",
                    e.getMessage(), Runtime.getRuntime().maxMemory() / 1e9);
            code = FAILED;
        } else {
            message = "unexpected " + e.getClass().getSimpleName() + (e.getMessage() != null ? ": " + e.getMessage() : "")
                    + (debug ? "" : " (run with --debug for the stack trace)");
            code = FAILED;
        }
        err.println("ditj: error: " + oneLine(message));
        err.flush();
        return code;
    }

    /** Messages from libraries may span lines; the CLI prints one. */
    static String oneLine(String s) {
        return s == null ? "" : s.strip().replaceAll("\\s*\\R\\s*", "; ");
    }

    static final class VersionProvider implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"ditj " + Version.VERSION};
        }
    }
}
