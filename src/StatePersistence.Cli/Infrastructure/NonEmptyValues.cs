using System.CommandLine;

namespace StatePersistence.Cli.Infrastructure;

/// <summary>
/// Refuses an empty value of a path, name or id argument (or option) while parsing: bad usage, exit 2, named, with the
/// <c>--json</c> failure document. Before, <c>statectl import ""</c> and its like ended in an unhandled
/// ArgumentException and a stack trace, <c>archive restore ""</c> after taking the directory's lock, and an empty
/// <c>--key-file</c> quietly meant "no key given".
/// </summary>
internal static class NonEmptyValues
{
    public static Argument<string> NotEmpty(this Argument<string> argument, string what)
    {
        argument.Validators.Add(result =>
        {
            if (string.IsNullOrWhiteSpace(result.GetValueOrDefault<string>()))
            {
                result.AddError($"{argument.Name} is empty: give {what}.");
            }
        });
        return argument;
    }

    public static Option<string?> NotEmpty(this Option<string?> option, string what)
    {
        option.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string?>() is { } value && string.IsNullOrWhiteSpace(value))
            {
                result.AddError($"{option.Name} is empty: give {what}, or leave the option out.");
            }
        });
        return option;
    }
}
