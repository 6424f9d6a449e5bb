import ContentCopyIcon from "@mui/icons-material/ContentCopy";
import { Button, Stack, TextField } from "@mui/material";
import { useRef, useState } from "react";

type CopyState = "idle" | "copied" | "failed";

/**
 * Shows a read-only link with a Copy button. Where the clipboard is unavailable, the button selects
 * the link for copying by hand.
 */
export function CopyLinkField({ url }: { url: string }) {
  const inputRef = useRef<HTMLInputElement>(null);
  const [copyState, setCopyState] = useState<CopyState>("idle");

  const selectLink = () => inputRef.current?.select();

  const handleCopy = async () => {
    try {
      // navigator.clipboard exists only in secure contexts (HTTPS or localhost).
      if (!navigator.clipboard) throw new Error("clipboard unavailable");
      await navigator.clipboard.writeText(url);
      setCopyState("copied");
    } catch {
      selectLink();
      setCopyState("failed");
    }
  };

  return (
    <Stack direction={{ xs: "column", sm: "row" }} spacing={1} alignItems={{ sm: "center" }}>
      <TextField
        label="Accept link"
        value={url}
        fullWidth
        inputRef={inputRef}
        onFocus={selectLink}
        helperText={
          copyState === "failed"
            ? "Copying failed. The link is selected: copy it with Ctrl+C or ⌘C."
            : undefined
        }
        slotProps={{ htmlInput: { readOnly: true, spellCheck: false } }}
      />
      <Button
        variant="outlined"
        startIcon={<ContentCopyIcon />}
        onClick={() => void handleCopy()}
        sx={{ flexShrink: 0, alignSelf: { xs: "flex-start", sm: "center" } }}
      >
        {copyState === "copied" ? "Copied" : "Copy link"}
      </Button>
    </Stack>
  );
}
