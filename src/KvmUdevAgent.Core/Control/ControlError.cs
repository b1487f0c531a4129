namespace KvmUdevAgent.Core.Control;

/// <summary>The <c>error</c> object of a failed response.</summary>
/// <param name="Code">One of <see cref="ControlErrorCodes"/>; clients switch on it.</param>
/// <param name="Message">One or more lines for a person; says what to do next where it can.</param>
public sealed record ControlError(string Code, string Message);
