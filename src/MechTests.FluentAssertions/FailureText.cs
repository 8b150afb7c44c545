namespace MechTests.FluentAssertions;

/// <summary>
/// Text that goes into a failure message as an argument, verbatim. FluentAssertions treats the message itself as a
/// format string (braces, <c>{word}</c> tags), so anything computed — names, numbers, another library's message —
/// travels as an argument whose <see cref="ToString"/> its default formatter prints unchanged.
/// </summary>
internal sealed class FailureText(string text)
{
    public override string ToString() => text;
}
