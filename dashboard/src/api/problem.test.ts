import { describe, expect, it } from "vitest";
import {
  ApiError,
  errorMessage,
  fieldErrorMap,
  networkProblem,
  parseProblem,
  splitFieldErrors,
} from "./problem";

describe("parseProblem", () => {
  it("reads a full problem document", () => {
    const problem = parseProblem(422, {
      type: "https://mometrics.dev/problems/validation",
      title: "Validation failed",
      status: 422,
      detail: "2 fields are invalid.",
      errors: [
        { field: "email", message: "is not a valid email address" },
        { field: "password", message: "must have at least 12 characters" },
      ],
    });
    expect(problem.title).toBe("Validation failed");
    expect(problem.detail).toBe("2 fields are invalid.");
    expect(problem.errors).toHaveLength(2);
  });

  it("falls back to the status for a non-JSON body", () => {
    const problem = parseProblem(502, "<html>Bad gateway</html>");
    expect(problem.title).toBe("Control plane unreachable");
    expect(problem.status).toBe(502);
    expect(problem.errors).toBeUndefined();
  });

  it("names the status code when no title is known", () => {
    expect(parseProblem(418, null).title).toBe("Request failed with HTTP 418");
  });

  it("skips malformed field errors", () => {
    const problem = parseProblem(422, { errors: ["oops", { field: "name" }] });
    expect(problem.errors).toEqual([{ field: "name", message: "is invalid" }]);
  });
});

describe("ApiError", () => {
  it("uses the detail as its message", () => {
    const error = new ApiError(parseProblem(409, { title: "Conflict", detail: "Email taken." }));
    expect(error.message).toBe("Email taken.");
    expect(error.status).toBe(409);
  });

  it("uses the title without a detail", () => {
    expect(new ApiError(parseProblem(404, { title: "Monitor not found" })).message).toBe(
      "Monitor not found",
    );
  });

  it("maps field errors by field name", () => {
    const error = new ApiError(
      parseProblem(422, {
        errors: [
          { field: "body.url", message: "must be an absolute URL" },
          { field: "url", message: "second message" },
        ],
      }),
    );
    expect(error.fieldErrors).toEqual({ url: "must be an absolute URL" });
  });
});

describe("splitFieldErrors", () => {
  it("separates shown fields from the rest", () => {
    const error = new ApiError(
      parseProblem(422, {
        errors: [
          { field: "email", message: "is taken" },
          { field: "captcha", message: "is missing" },
        ],
      }),
    );
    const { fields, rest } = splitFieldErrors(error, ["email", "password"]);
    expect(fields).toEqual({ email: "is taken" });
    expect(rest).toEqual(["captcha: is missing"]);
  });

  it("returns nothing for other errors", () => {
    expect(splitFieldErrors(new Error("boom"), ["email"])).toEqual({ fields: {}, rest: [] });
  });
});

describe("messages", () => {
  it("describe network failures with the cause", () => {
    const problem = networkProblem(new TypeError("Failed to fetch"));
    expect(problem.status).toBe(0);
    expect(problem.detail).toContain("Failed to fetch");
  });

  it("fall back for unknown thrown values", () => {
    expect(errorMessage("string")).toBe("Something went wrong.");
    expect(errorMessage(new Error("plain"))).toBe("plain");
  });

  it("keep the first message per field", () => {
    expect(
      fieldErrorMap([
        { field: "a", message: "first" },
        { field: "a", message: "second" },
      ]),
    ).toEqual({ a: "first" });
  });
});
