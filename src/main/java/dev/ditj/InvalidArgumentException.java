package dev.ditj;

/**
 * A request or option value outside what ditj accepts, found before any work starts. {@link #argument()} names the
 * API field ({@code "steps"}, {@code "ddimEta"}, ...) so a front end can name its own option instead; the message
 * reads "{argument} {problem}" and says what is accepted. The CLI exits with the usage code (2) for these.
 */
public class InvalidArgumentException extends DitjException {
    private final String argument;
    private final String problem;

    public InvalidArgumentException(String argument, String problem) {
        super(argument + " " + problem);
        this.argument = argument;
        this.problem = problem;
    }

    /** The API name of the value at fault. */
    public String argument() {
        return argument;
    }

    /** What is wrong and what is accepted, without the argument's name ("must be in 1..1000, got 0"). */
    public String problem() {
        return problem;
    }
}
